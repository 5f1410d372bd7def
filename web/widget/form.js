// The Help Center request form, as the themes render it:
//
// - Copenhagen (Zendesk's default theme since v4): a React app in `#new-request-form`, Garden
//   components, the ticket form in a hidden `request[ticket_form_id]` input (choosing another
//   form reloads the page), attachments in a Garden file upload
//   (`[data-garden-id="forms.file_upload"]`), the description a CKEditor 5 editor over
//   `textarea[name="request[description]"]`;
// - older and custom themes: `form#new_request` with `textarea#request_description`, a
//   `select[name="request[ticket_form_id]"]` and `#upload-dropzone`.

/** The request form on this page, or null. */
export function requestForm() {
  const root = document.getElementById("new-request-form");
  if (root) return root.querySelector("form");
  const description = document.getElementById("request_description");
  return description?.form ?? document.querySelector("form#new_request");
}

/** The theme's own (plaintext) attachment field, which the widget replaces. */
export function nativeDropzone(form) {
  return form.querySelector('[data-garden-id="forms.file_upload"]') || form.querySelector("#upload-dropzone");
}

/** The selected ticket form's id, or null. */
export function ticketFormId(form) {
  const field = form.querySelector('[name="request[ticket_form_id]"]') || document.querySelector('[name="request[ticket_form_id]"]');
  const value = field?.value || new URLSearchParams(location.search).get("ticket_form_id");
  return value ? Number(value) : null;
}
