// What can be done with an alarm: claim it (or take it over), and for the one holding it
// record calls, escalate and close it; anyone who sees it may add a note. Forms the user
// may not use are not shown; their buttons stay, disabled, with the reason beside them.
import { html, useEffect, useState } from '../html.js';
import { apiList, errorText } from '../api.js';
import { fmtTime, words } from '../format.js';
import { Outcome, Select, Text, useAlarmAction, valueOf } from './form_kit.js';
import { isRed } from './queue.js';

function ClaimBar({ alarm, me, nameOf, onChange }) {
    const [state, send] = useAlarmAction(alarm.id, onChange);
    let status;
    let button = null;
    if (alarm.state === 'closed') {
        const when = fmtTime(alarm.closed_at, { seconds: true });
        status = html`Closed as <strong>${words(alarm.outcome)}</strong> by ${nameOf(alarm.closed_by)} at ${when}.`;
        button = html`<button type="button" disabled>Claim</button>`;
    } else if (alarm.state === 'open') {
        status = html`<strong>Nobody holds this alarm.</strong> Claim it to handle it.`;
        button = html`<button type="button" class="danger" disabled=${state.busy}
            onClick=${() => send('claim', {}, 'You hold the alarm.')}>Claim</button>`;
    } else if (alarm.claimed_by === me) {
        status = html`<strong>You hold this alarm</strong> since ${fmtTime(alarm.claimed_at, { seconds: true })}.`;
    } else {
        status = html`Held by <strong>${nameOf(alarm.claimed_by)}</strong> since ${fmtTime(alarm.claimed_at, { seconds: true })}.`;
        button = html`<button type="button" class="secondary" disabled=${state.busy}
            onClick=${() => send('claim', { take_over: true }, 'You took the alarm over.')}>Take over</button>`;
    }
    return html`<div class="board-claim">
        <p>${status}</p>
        <div class="actions">${button}</div>
        <${Outcome} state=${state} />
    </div>`;
}

const CALL_TARGETS = [
    ['worker', 'The worker'],
    ['contact', 'A contact'],
    ['emergency_services', 'Emergency services (999)'],
    ['police_101', 'Police (101)'],
    ['police_urn', 'Police under the URN'],
];

// The name and number a call to each kind of target usually has.
function callDefaults(to, pack) {
    const w = (pack && pack.worker) || {};
    return {
        worker: { name: w.display_name || '', number: w.phone || '' },
        emergency_services: { name: 'Emergency services', number: '999' },
        police_101: { name: 'Police', number: '101' },
        police_urn: { name: 'Police', number: '999' },
    }[to] || { name: '', number: '' };
}

function CallForm({ alarm, onChange }) {
    const [state, send] = useAlarmAction(alarm.id, onChange);
    const [to, setTo] = useState('worker');
    const [who, setWho] = useState(() => callDefaults('worker', alarm.pack));
    const targets = CALL_TARGETS.filter(([v]) => v !== 'police_urn' || isRed(alarm));
    function pick(e) {
        const next = e.target.value;
        // Replace the name and number only while they are still the previous defaults.
        const old = callDefaults(to, alarm.pack);
        if (who.name === old.name && who.number === old.number) setWho(callDefaults(next, alarm.pack));
        setTo(next);
    }
    async function submit(e) {
        e.preventDefault();
        const form = e.target;
        const body = { to, outcome: valueOf(form, 'call-outcome') };
        if (who.name.trim()) body.name = who.name.trim();
        if (who.number.trim()) body.number = who.number.trim();
        const ref = valueOf(form, 'call-reference');
        if (ref) body.police_reference = ref;
        if (await send('calls', body, 'Call recorded.')) {
            form.reset();
            setTo('worker');
            setWho(callDefaults('worker', alarm.pack));
        }
    }
    return html`<form class="board-form" aria-labelledby="call-title" onSubmit=${submit}>
        <h3 id="call-title">Record a call</h3>
        <${Select} id="call-to" label="Called" options=${targets} value=${to} onChange=${pick} />
        <${Text} id="call-name" label="Name" maxlength="200" value=${who.name}
            onInput=${(e) => setWho({ ...who, name: e.target.value })} />
        <${Text} id="call-number" label="Number" type="tel" maxlength="40" value=${who.number}
            onInput=${(e) => setWho({ ...who, number: e.target.value })} />
        <${Text} id="call-outcome" label="What came of the call" multiline required maxlength="500"
            hint="For example: no answer, worker safe, police on the way" />
        <${Text} id="call-reference" label="Police reference" maxlength="64"
            hint="The incident number the police gave, if any" />
        <button type="submit" disabled=${state.busy}>Record call</button>
        <${Outcome} state=${state} />
    </form>`;
}

const CONTACTS = [
    ['operators', 'The operators'],
    ['buddy', 'The buddy'],
    ['line_manager', 'The line manager'],
    ['senior_manager', 'The senior managers'],
    ['user', 'A person…'],
    ['channel', 'A channel…'],
];

// People or channels to choose from, asked only when "A person…" or "A channel…" is picked.
function useTargets(contact) {
    const [targets, setTargets] = useState({ contact: null, options: [], error: null });
    useEffect(() => {
        if (contact !== 'user' && contact !== 'channel') return;
        let live = true;
        const path = contact === 'user' ? '/api/v1/users' : '/api/v1/channels';
        apiList(path, { max: 1000 }).then((items) => {
            const options = items.filter((x) => !x.disabled)
                .map((x) => [String(x.id), contact === 'user' ? x.display_name : `${x.name} (${x.kind})`]);
            if (live) setTargets({ contact, options, error: null });
        }, (err) => live && setTargets({ contact, options: [], error: errorText(err) }));
        return () => {
            live = false;
        };
    }, [contact]);
    return targets.contact === contact ? targets : { contact, options: [], error: null };
}

function EscalateForm({ alarm, onChange }) {
    const [state, send] = useAlarmAction(alarm.id, onChange);
    const [contact, setContact] = useState('operators');
    const targets = useTargets(contact);
    const needsTarget = contact === 'user' || contact === 'channel';
    async function submit(e) {
        e.preventDefault();
        const form = e.target;
        const body = { contact };
        if (needsTarget) body.target_id = Number(form.elements['escalate-target'].value);
        const note = valueOf(form, 'escalate-note');
        if (note) body.note = note;
        if (await send('escalate', body, `${words(contact)} told.`)) {
            form.reset();
            setContact('operators');
        }
    }
    return html`<form class="board-form" aria-labelledby="escalate-title" onSubmit=${submit}>
        <h3 id="escalate-title">Escalate</h3>
        <${Select} id="escalate-contact" label="Contact" options=${CONTACTS} value=${contact}
            onChange=${(e) => setContact(e.target.value)} />
        ${needsTarget && html`<${Select} id="escalate-target" label=${contact === 'user' ? 'Person' : 'Channel'}
            required options=${[['', targets.options.length ? 'Choose…' : 'Loading…'], ...targets.options]} />`}
        ${targets.error && html`<p role="alert" class="error">${targets.error}</p>`}
        <${Text} id="escalate-note" label="Message for them" multiline maxlength="500" />
        <button type="submit" disabled=${state.busy}>Escalate</button>
        <${Outcome} state=${state} />
    </form>`;
}

const OUTCOMES = [
    ['', 'Choose an outcome…'],
    ['genuine', 'Genuine'],
    ['false_accidental', 'False alarm: accidental'],
    ['false_malicious', 'False alarm: malicious'],
    ['test', 'Test'],
];

function CloseForm({ alarm, onChange }) {
    const [state, send] = useAlarmAction(alarm.id, onChange);
    async function submit(e) {
        e.preventDefault();
        const form = e.target;
        const body = { outcome: form.elements['close-outcome'].value, found_safe: valueOf(form, 'close-safe') };
        const note = valueOf(form, 'close-note');
        if (note) body.note = note;
        await send('close', body, 'Alarm closed.');
    }
    return html`<form class="board-form" aria-labelledby="close-title" onSubmit=${submit}>
        <h3 id="close-title">Close the alarm</h3>
        <p class="hint">Only once the worker is confirmed safe. Everyone told is told it is over.</p>
        <${Select} id="close-outcome" label="Outcome" required options=${OUTCOMES} />
        <${Text} id="close-safe" label="How the worker was confirmed safe" multiline required maxlength="500" />
        <${Text} id="close-note" label="Note" multiline maxlength="2000" />
        <button type="submit" class="danger" disabled=${state.busy}>Close alarm</button>
        <${Outcome} state=${state} />
    </form>`;
}

function NoteForm({ alarm, onChange }) {
    const [state, send] = useAlarmAction(alarm.id, onChange);
    async function submit(e) {
        e.preventDefault();
        const form = e.target;
        if (await send('notes', { text: valueOf(form, 'note-text') }, 'Note added.')) form.reset();
    }
    return html`<form class="board-form" aria-labelledby="note-title" onSubmit=${submit}>
        <h3 id="note-title">Add to the timeline</h3>
        <${Text} id="note-text" label="Text" multiline required maxlength="2000" />
        <button type="submit" disabled=${state.busy}>Add note</button>
        <${Outcome} state=${state} />
    </form>`;
}

// The holder's buttons, disabled, with why: the forms appear once the user holds the alarm.
function Locked({ alarm }) {
    const why = alarm.state === 'closed'
        ? 'The alarm is closed: only notes can be added.'
        : 'Claim the alarm (or take it over) to record calls, escalate or close it.';
    return html`<div class="board-locked">
        <p id="alarm-locked">${why}</p>
        <div class="actions">
            ${['Record call', 'Escalate', 'Close alarm'].map((name) => html`<button type="button"
                disabled aria-describedby="alarm-locked">${name}</button>`)}
        </div>
    </div>`;
}

export function Actions({ alarm, me, nameOf, onChange }) {
    const holder = alarm.state === 'claimed' && alarm.claimed_by === me;
    return html`<${ClaimBar} alarm=${alarm} me=${me} nameOf=${nameOf} onChange=${onChange} />
        ${holder
            ? html`<div class="board-forms">
                <${CallForm} alarm=${alarm} onChange=${onChange} />
                <${EscalateForm} alarm=${alarm} onChange=${onChange} />
                <${CloseForm} alarm=${alarm} onChange=${onChange} />
            </div>`
            : html`<${Locked} alarm=${alarm} />`}
        <${NoteForm} alarm=${alarm} onChange=${onChange} />`;
}
