// Form pieces shared by the console's own forms (plan a visit, people, policies): a
// labelled field whose server error (422 with `field`) shows against it, and a submit
// runner that keeps the error of the last attempt.
import { html, useState } from '../html.js';
import { ApiError, errorText } from '../api.js';

// The attributes a control needs to carry its hint and its error for a screen reader.
export function controlProps(id, error, hint) {
    const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ');
    return {
        id,
        name: id,
        'aria-invalid': error ? 'true' : undefined,
        'aria-describedby': described || undefined,
    };
}

// A label, an optional hint, the control (children) and the error under it.
export function Field({ id, label, hint, error, children, className = '' }) {
    return html`<div class=${`field ${error ? 'field-invalid' : ''} ${className}`}>
        <label for=${id}>${label}</label>
        ${hint && html`<span class="hint" id=${`${id}-hint`}>${hint}</span>`}
        ${children}
        ${error && html`<span class="field-error" id=${`${id}-error`}>${error}</span>`}
    </div>`;
}

// A group of checkboxes (roles, teams) under one legend, with its error.
export function CheckGroup({ id, legend, options, selected, onChange, error }) {
    function toggle(value, on) {
        const next = new Set(selected);
        if (on) next.add(value);
        else next.delete(value);
        onChange(next);
    }
    return html`<fieldset class=${`checks ${error ? 'field-invalid' : ''}`} id=${id}
        aria-describedby=${error ? `${id}-error` : undefined}>
        <legend>${legend}</legend>
        ${options.length === 0 && html`<span class="hint">None yet.</span>`}
        ${options.map((o) => html`<label class="check" key=${o.value}>
            <input type="checkbox" checked=${selected.has(o.value)}
                onChange=${(e) => toggle(o.value, e.currentTarget.checked)} />
            ${o.label}
        </label>`)}
        ${error && html`<span class="field-error" id=${`${id}-error`}>${error}</span>`}
    </fieldset>`;
}

// Runs an async action, remembering whether it is busy and the error it threw.
// fieldOf maps a server field ("transport.vehicle_id") to the form's control id, or null.
export function useAction(fieldOf = () => null) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    async function run(fn) {
        setBusy(true);
        setError(null);
        try {
            return await fn();
        } catch (err) {
            const control = err instanceof ApiError && err.field ? fieldOf(err.field) : null;
            setError({ text: err instanceof ApiError ? err.message : errorText(err), field: err.field || null, control });
            if (control) focusLater(control);
            return undefined;
        } finally {
            setBusy(false);
        }
    }
    // The error for one control, when the server named it.
    const errorFor = (control) => (error && error.control === control ? error.text : null);
    return { busy, error, errorFor, run, clear: () => setError(null) };
}

function focusLater(id) {
    setTimeout(() => {
        const el = document.getElementById(id);
        if (el && el.focus) el.focus();
    }, 0);
}

// The message above a form: where to look when a field of the form carries the error.
export function FormError({ action, labels = {} }) {
    const e = action.error;
    if (!e) return null;
    const where = e.control && labels[e.control];
    let message = e.text;
    if (where) message = `${where}: ${e.text}`;
    else if (e.field) message = `${e.text} (${e.field})`;
    return html`<p role="alert" class="error">${message}</p>`;
}

// "" for null and undefined, so inputs stay controlled; trimmed text or null back.
export const text = (v) => (v == null ? '' : String(v));
export const orNull = (v) => (v == null || String(v).trim() === '' ? null : String(v).trim());
