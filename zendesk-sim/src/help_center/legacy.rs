//! The classic request form: the markup older and custom themes render (`form#new_request`,
//! `textarea#request_description` posted as it is in the DOM, `#upload-dropzone` with a file
//! input). No real artifact of it is at hand, so this is the project's own rendering of that
//! markup; the Copenhagen page ([`super::theme`]) is the real theme.

use crate::pages::escape;
use crate::TicketForm;

/// The page, with the loader tag in its head and a CSRF token in the form, as Help Center
/// renders server-side forms.
pub(super) fn page(forms: &[TicketForm], selected: u64, loader: &str, csrf_token: &str) -> String {
    let options: String = forms
        .iter()
        .map(|f| {
            format!(
                r#"<option value="{id}"{sel}>{name}</option>"#,
                id = f.id,
                sel = if f.id == selected { " selected" } else { "" },
                name = escape(&f.name)
            )
        })
        .collect();
    let token = escape(csrf_token);
    format!(
        r#"<!doctype html><html lang="en-US"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Submit a request (classic)</title>{loader}</head>
<body class="request-page"><main class="container"><h1>Submit a request</h1>
<div class="form">
<form id="new_request" class="request-form" action="/hc/en-us/requests" accept-charset="UTF-8" method="post">
<input type="hidden" name="authenticity_token" value="{token}">
<div class="form-field select optional request_ticket_form_id"><label for="request_issue_type_select">Please choose your issue below</label>
<select name="request[ticket_form_id]" id="request_issue_type_select">{options}</select></div>
<div class="form-field string required request_anonymous_requester_email"><label for="request_anonymous_requester_email">Your email address</label>
<input type="email" name="request[anonymous_requester_email]" id="request_anonymous_requester_email" required></div>
<div class="form-field string required request_subject"><label for="request_subject">Subject</label>
<input type="text" name="request[subject]" id="request_subject" maxlength="150" required></div>
<div class="form-field text required request_description"><label for="request_description">Description</label>
<textarea name="request[description]" id="request_description" rows="8" required></textarea>
<p id="request_description_hint">Please enter the details of your request.</p></div>
<div class="form-field"><label for="request-attachments">Attachments</label>
<div id="upload-dropzone" class="upload-dropzone"><input type="file" multiple id="request-attachments" data-fileupload="true" data-dropzone="upload-dropzone">
<span>Add file or drop files here</span></div>
<ul id="request-attachments-pool" class="upload-pool"></ul></div>
<footer><input type="submit" name="commit" value="Submit"></footer>
</form></div></main></body></html>"#
    )
}
