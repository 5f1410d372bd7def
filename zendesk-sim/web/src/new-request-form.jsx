// A Copenhagen-style "Submit a request" form: a React app mounted on #new-request-form.
//
// Like the theme's own form, every field is a controlled component and the description's
// text lives in component state. What the form submits for the description is the hidden
// input `request[description]`, rendered from that state, so a script that changes the
// textarea's DOM value without an event React sees changes nothing that is submitted.
import React, { useState, useRef } from "react";
import { createRoot } from "react-dom/client";

function FileDropzone({ files, onFiles }) {
  const input = useRef(null);
  const [over, setOver] = useState(false);
  return (
    <div
      data-garden-id="forms.file_upload"
      className={"file-upload" + (over ? " is-dragged" : "")}
      onClick={() => input.current && input.current.click()}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        onFiles(Array.from(e.dataTransfer.files));
      }}
    >
      <span>Choose a file or drag and drop here</span>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-garden-id="forms.file_upload_input"
        onChange={(e) => onFiles(Array.from(e.target.files))}
      />
      <ul className="file-list">
        {files.map((f, i) => (
          <li key={i} data-garden-id="forms.file">
            {f.name}
          </li>
        ))}
      </ul>
    </div>
  );
}

function NewRequestForm({ action, ticketForms, ticketFormId }) {
  const [formId, setFormId] = useState(String(ticketFormId));
  const [email, setEmail] = useState("");
  const [subject, setSubject] = useState("");
  const [description, setDescription] = useState("");
  const [files, setFiles] = useState([]);
  const [error, setError] = useState(null);

  function onSubmit(e) {
    if (!email || !description) {
      e.preventDefault();
      setError("Please fill in your email address and a description.");
    }
  }

  return (
    <form action={action} method="post" noValidate onSubmit={onSubmit} data-testid="new-request-form">
      <div className="form-field" data-garden-id="forms.field">
        <label htmlFor="nrf-ticket-form" data-garden-id="forms.input_label">
          Please choose your issue below
        </label>
        <select
          id="nrf-ticket-form"
          name="request[ticket_form_id]"
          value={formId}
          onChange={(e) => setFormId(e.target.value)}
        >
          {ticketForms.map((f) => (
            <option key={f.id} value={String(f.id)}>
              {f.name}
            </option>
          ))}
        </select>
      </div>
      <div className="form-field" data-garden-id="forms.field">
        <label htmlFor="nrf-email" data-garden-id="forms.input_label">
          Your email address
        </label>
        <input
          id="nrf-email"
          type="email"
          name="request[anonymous_requester_email]"
          data-garden-id="forms.input"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </div>
      <div className="form-field" data-garden-id="forms.field">
        <label htmlFor="nrf-subject" data-garden-id="forms.input_label">
          Subject
        </label>
        <input
          id="nrf-subject"
          type="text"
          name="request[subject]"
          data-garden-id="forms.input"
          value={subject}
          onChange={(e) => setSubject(e.target.value)}
        />
      </div>
      <div className="form-field" data-garden-id="forms.field">
        <label htmlFor="nrf-description" data-garden-id="forms.input_label">
          Description
        </label>
        <textarea
          id="nrf-description"
          rows={8}
          data-garden-id="forms.textarea"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <input type="hidden" name="request[description]" value={description} />
        <input type="hidden" name="request[description_mimetype]" value="text/plain" />
      </div>
      <div className="form-field" data-garden-id="forms.field">
        <label data-garden-id="forms.input_label">Attachments (optional)</label>
        <FileDropzone files={files} onFiles={(more) => setFiles(files.concat(more))} />
      </div>
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      <footer>
        <button type="submit" data-garden-id="buttons.button">
          Submit
        </button>
      </footer>
    </form>
  );
}

const root = document.getElementById("new-request-form");
const props = JSON.parse(document.getElementById("new-request-form-props").textContent);
createRoot(root).render(<NewRequestForm {...props} />);
