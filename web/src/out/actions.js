// What a row of "who is out" lets its reader do, where the API allows them: take an open
// case, resolve it (safe, or handed to the police), end the visit safe.
import { html, useState } from '../html.js';
import { api, errorText } from '../api.js';

function useRun(onDone) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    async function run(fn) {
        setBusy(true);
        setError(null);
        try {
            await fn();
            onDone();
        } catch (err) {
            setError(errorText(err));
        } finally {
            setBusy(false);
        }
    }
    return { busy, error, run };
}

export function AcknowledgeButton({ esc, workerName, onDone }) {
    const a = useRun(onDone);
    return html`<div class="out-action">
        <button type="button" disabled=${a.busy} aria-label=${`Acknowledge: I am dealing with ${workerName}`}
            onClick=${() => a.run(() => api('POST', `/api/v1/escalations/${esc.id}/acknowledge`))}>Acknowledge</button>
        ${a.error && html`<p role="alert" class="error">${a.error}</p>`}
    </div>`;
}

export function ResolveForm({ esc, workerName, onDone }) {
    const [outcome, setOutcome] = useState('safe');
    const a = useRun(onDone);
    function submit(e) {
        e.preventDefault();
        const f = e.currentTarget.elements;
        const body = { outcome, how: f.how.value.trim() };
        if (outcome === 'police') body.police_reference = f.police_reference.value.trim();
        a.run(() => api('POST', `/api/v1/escalations/${esc.id}/resolve`, body));
    }
    return html`<details class="out-action">
        <summary>Resolve case<span class="pages-sr-only"> of ${workerName}</span></summary>
        <form onSubmit=${submit}>
            ${a.error && html`<p role="alert" class="error">${a.error}</p>`}
            <label class="field">Outcome
                <select name="outcome" value=${outcome} onChange=${(e) => setOutcome(e.currentTarget.value)}>
                    <option value="safe">Worker confirmed safe</option>
                    <option value="police">Handed to the police</option>
                </select>
            </label>
            <label class="field">${outcome === 'safe' ? 'How the worker was confirmed safe' : 'What was done'}
                <textarea name="how" required maxlength="500"></textarea>
            </label>
            ${outcome === 'police' && html`<label class="field">Police reference
                <input name="police_reference" required maxlength="100" autocomplete="off" />
            </label>`}
            <button type="submit" disabled=${a.busy}>Resolve case</button>
        </form>
    </details>`;
}

export function EndVisitForm({ visit, workerName, onDone }) {
    const a = useRun(onDone);
    function submit(e) {
        e.preventDefault();
        const note = e.currentTarget.elements.note.value.trim();
        const body = { outcome: 'safe' };
        if (note) body.note = note;
        a.run(() => api('POST', `/api/v1/visits/${visit.id}/end`, body));
    }
    return html`<details class="out-action">
        <summary>End visit safe<span class="pages-sr-only"> for ${workerName}</span></summary>
        <form onSubmit=${submit}>
            ${a.error && html`<p role="alert" class="error">${a.error}</p>`}
            <p class="hint">Only when you know ${workerName} is safe and the work is over.</p>
            <label class="field">Note
                <textarea name="note" maxlength="500"></textarea>
            </label>
            <button type="submit" disabled=${a.busy}>End visit safe</button>
        </form>
    </details>`;
}
