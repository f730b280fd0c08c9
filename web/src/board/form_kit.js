// What the alarm's forms share: sending one change with the server's refusal shown in the
// form, and labelled fields.
import { html, useState } from '../html.js';
import { api, errorText } from '../api.js';

// A refusal as the operator should read it: a 409 means the alarm changed under them.
export function refusal(err) {
    if (err && err.status === 409)
        return `Not done: ${err.message}. Someone else may hold the alarm now, or it is closed; the page shows it as it is.`;
    return `Not done: ${errorText(err)}`;
}

// [state, send]: send(action, body, doneText) posts to /api/v1/alarms/ID/action; true when
// done. onChange() runs after every attempt (the alarm may have changed either way).
export function useAlarmAction(alarmId, onChange) {
    const [state, setState] = useState({ busy: false, error: null, done: null });
    async function send(action, body, doneText) {
        setState({ busy: true, error: null, done: null });
        try {
            await api('POST', `/api/v1/alarms/${alarmId}/${action}`, body);
            setState({ busy: false, error: null, done: doneText });
            return true;
        } catch (err) {
            setState({ busy: false, error: refusal(err), done: null });
            return false;
        } finally {
            onChange();
        }
    }
    return [state, send];
}

export function Outcome({ state }) {
    if (state.error) return html`<p role="alert" class="error">${state.error}</p>`;
    return html`<p role="status" class="board-done">${state.done || ''}</p>`;
}

export function Field({ id, label, hint, children }) {
    return html`<div class="field">
        <label for=${id}>${label}</label>
        ${hint && html`<span class="hint" id=${`${id}-hint`}>${hint}</span>`}
        ${children}
    </div>`;
}

export function Select({ id, label, options, hint, ...rest }) {
    return html`<${Field} id=${id} label=${label} hint=${hint}>
        <select id=${id} name=${id} aria-describedby=${hint ? `${id}-hint` : undefined} ...${rest}>
            ${options.map(([value, text, disabled]) => html`<option value=${value} disabled=${disabled}>${text}</option>`)}
        </select>
    </${Field}>`;
}

export function Text({ id, label, hint, multiline, ...rest }) {
    const described = hint ? `${id}-hint` : undefined;
    return html`<${Field} id=${id} label=${label} hint=${hint}>
        ${multiline
            ? html`<textarea id=${id} name=${id} aria-describedby=${described} ...${rest} />`
            : html`<input id=${id} name=${id} aria-describedby=${described} ...${rest} />`}
    </${Field}>`;
}

// The trimmed value of a form's field, or undefined when empty (the API refuses "").
export function valueOf(form, name) {
    const v = form.elements[name] ? form.elements[name].value.trim() : '';
    return v === '' ? undefined : v;
}
