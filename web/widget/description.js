// The description field, behind one interface whatever the theme renders:
//
//   const d = description(form);   // null when there is none
//   d.has(link)                    // does what the form will post hold `link`?
//   d.put(link, previous)          // add the link paragraph (replacing `previous`'s)
//
// The link must land where the form's own state keeps it, or the posted description
// will not hold it:
//
// - CKEditor 5 (Copenhagen's `wysiwyg: true`): the editor keeps its own model and writes it
//   back to the textarea on submit, so DOM edits are undone. The link goes in through the
//   editor's model (`editor.model.change`), as its own paragraph with a link attribute, and
//   the source textarea is updated at once.
// - A textarea (React-controlled or not): the native value setter and an `input` event,
//   which React's change tracking sees (setting `.value` alone would be undone).
// - Another contenteditable editor: `insertText` at the end (the `beforeinput`/`input` path
//   editors listen to). Whether it took is checked with `has`.

export const LINK_LABEL = "Encrypted attachments (sealdrop): ";

/** The description of `form`, or null when it has none. */
export function description(form) {
  const editable = form.querySelector(".ck-editor__editable");
  if (editable?.ckeditorInstance) return new CkEditorDescription(editable.ckeditorInstance);
  const textarea =
    form.querySelector("#request_description") ||
    form.querySelector('textarea[name="request[description]"]') ||
    form.querySelector('textarea[data-garden-id="forms.textarea"]');
  // A CKEditor that is still starting has hidden nothing yet: its textarea is what is posted.
  if (textarea && !editable) return new TextareaDescription(textarea);
  const other = form.querySelector('[contenteditable="true"]');
  if (other) return new ContentEditableDescription(other);
  return textarea ? new TextareaDescription(textarea) : null;
}

/** The CKEditor 5 instance of `form`'s description, if it has one. */
export function richEditor(form) {
  return form.querySelector(".ck-editor__editable")?.ckeditorInstance ?? null;
}

class CkEditorDescription {
  constructor(editor) {
    this.editor = editor;
  }

  has(link) {
    return this.editor.getData().includes(link);
  }

  put(link, previous) {
    const { model } = this.editor;
    model.change((writer) => {
      const root = model.document.getRoot();
      if (previous) {
        for (const block of Array.from(root.getChildren())) {
          if (blockText(block).includes(previous)) writer.remove(block);
        }
      }
      const only = root.childCount === 1 ? root.getChild(0) : null;
      let paragraph;
      if (only && only.is("element", "paragraph") && only.isEmpty) {
        paragraph = only; // an empty description: use its one empty paragraph
      } else {
        paragraph = writer.createElement("paragraph");
        writer.append(paragraph, root);
      }
      const linkAttributes = model.schema.checkAttribute("$text", "linkHref") ? { linkHref: link } : {};
      writer.appendText(LINK_LABEL, paragraph);
      writer.appendText(link, linkAttributes, paragraph);
    });
    this.editor.updateSourceElement?.();
  }
}

/** The text of a model block (a paragraph's text nodes). */
function blockText(block) {
  if (!block.is("element")) return "";
  return Array.from(block.getChildren())
    .map((node) => (node.is("$text") ? node.data : ""))
    .join("");
}

class TextareaDescription {
  constructor(field) {
    this.field = field;
  }

  has(link) {
    return this.field.value.includes(link);
  }

  put(link, previous) {
    const text = `${LINK_LABEL}${link}`;
    const value = this.field.value;
    const next = previous && value.includes(previous)
      ? value.split(previous).join(link)
      : `${value}${value.trim() ? "\n\n" : ""}${text}`;
    const proto = this.field instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, "value").set.call(this.field, next);
    this.field.dispatchEvent(new Event("input", { bubbles: true }));
    this.field.dispatchEvent(new Event("change", { bubbles: true }));
  }
}

class ContentEditableDescription {
  constructor(element) {
    this.element = element;
  }

  has(link) {
    return this.element.innerText.includes(link);
  }

  put(link) {
    const field = this.element;
    const text = `${field.innerText.trim() ? "\n\n" : ""}${LINK_LABEL}${link}`;
    field.focus();
    const range = document.createRange();
    range.selectNodeContents(field);
    range.collapse(false);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("insertText", false, text);
  }
}
