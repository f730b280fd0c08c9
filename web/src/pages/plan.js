// Plan a visit (or a shift): every field of POST /api/v1/visits. A worker plans for
// themselves; a line manager, senior manager or admin also for others. The server's
// refusal of a field shows against that field.
import '../styles/pages.css';
import { html, useEffect, useState } from '../html.js';
import { api } from '../api.js';
import { useSession } from '../session.js';
import { useDirectory } from '../out/directory.js';
import { BuddySelect, MODES, plannableWorkers, TransportFields, transportOf } from '../out/plan_fields.js';
import { controlProps, Field, FormError, useAction } from '../admin/form.js';

// Server field -> the control that shows its error.
const CONTROLS = {
    kind: 'plan-kind-visit', worker_id: 'plan-worker', address: 'plan-address', latitude: 'plan-latitude',
    longitude: 'plan-longitude', people: 'plan-people', phones: 'plan-phones',
    expected_arrival: 'plan-arrival', expected_departure: 'plan-departure', checkin_interval: 'plan-interval',
    transport: 'plan-mode', 'transport.mode': 'plan-mode', 'transport.vehicle_id': 'plan-vehicle',
    'transport.route': 'plan-route', 'transport.company': 'plan-company', 'transport.call_sign': 'plan-call-sign',
    'transport.detail': 'plan-detail', buddy_id: 'plan-buddy', accompanied_by: 'plan-accompanied',
    notes: 'plan-notes', start: 'plan-start',
};
const LABELS = {
    'plan-kind-visit': 'Kind', 'plan-worker': 'Worker', 'plan-address': 'Address', 'plan-latitude': 'Latitude',
    'plan-longitude': 'Longitude', 'plan-people': 'People at the address', 'plan-phones': 'Phone numbers',
    'plan-arrival': 'Expected arrival', 'plan-departure': 'Expected departure',
    'plan-interval': 'Check in every (minutes)', 'plan-mode': 'Travelling by', 'plan-vehicle': 'Vehicle',
    'plan-route': 'Route', 'plan-company': 'Taxi company', 'plan-call-sign': 'Call sign',
    'plan-detail': 'How the worker travels', 'plan-buddy': 'Buddy', 'plan-accompanied': 'Accompanied by',
    'plan-notes': 'Notes', 'plan-start': 'Start now',
};
const fieldOf = (f) => CONTROLS[f] || (f.startsWith('phones') ? 'plan-phones' : null);

const optional = (v) => (v.trim() === '' ? undefined : v.trim());
const number = (v) => (v.trim() === '' ? undefined : Number(v));
// A datetime-local value is the browser's local time; the API takes UTC.
const utc = (v) => (v ? new Date(v).toISOString() : undefined);

function bodyOf(f, { kind, workerId, mode }) {
    const interval = number(f['plan-interval'].value);
    const buddy = f['plan-buddy'].value;
    const body = {
        kind,
        worker_id: workerId,
        address: f['plan-address'].value.trim(),
        latitude: number(f['plan-latitude'].value),
        longitude: number(f['plan-longitude'].value),
        people: optional(f['plan-people'].value),
        phones: f['plan-phones'].value.split(/[\n,;]+/).map((p) => p.trim()).filter(Boolean),
        expected_arrival: utc(f['plan-arrival'].value),
        expected_departure: utc(f['plan-departure'].value),
        checkin_interval: interval === undefined ? undefined : Math.round(interval * 60),
        transport: transportOf(mode, f),
        buddy_id: buddy ? Number(buddy) : undefined,
        accompanied_by: optional(f['plan-accompanied'].value),
        notes: optional(f['plan-notes'].value),
        start: f['plan-start'].checked,
    };
    if (body.phones.length === 0) delete body.phones;
    return body; // undefined members are left out by JSON.stringify
}

function KindChoice({ kind, setKind, error }) {
    return html`<fieldset class=${`plan-kind ${error ? 'field-invalid' : ''}`}>
        <legend>Kind</legend>
        <label class="check"><input type="radio" id="plan-kind-visit" name="plan-kind" value="visit"
            checked=${kind === 'visit'} onChange=${() => setKind('visit')} /> Visit</label>
        <label class="check"><input type="radio" name="plan-kind" value="shift"
            checked=${kind === 'shift'} onChange=${() => setKind('shift')} /> Shift (a working day)</label>
        ${error && html`<span class="field-error">${error}</span>`}
    </fieldset>`;
}

function TextField({ id, label, error, hint, multiline = false, ...rest }) {
    const props = { ...controlProps(id, error, hint), ...rest };
    return html`<${Field} id=${id} label=${label} hint=${hint} error=${error}>
        ${multiline ? html`<textarea ...${props}></textarea>` : html`<input ...${props} />`}
    <//>`;
}

function PlanForm({ session, dir, onPlanned }) {
    const workers = plannableWorkers(session, dir);
    const [workerId, setWorkerId] = useState(session.user.id);
    const [kind, setKind] = useState('visit');
    const [mode, setMode] = useState('');
    const action = useAction(fieldOf);
    const err = action.errorFor;
    async function submit(e) {
        e.preventDefault();
        const body = bodyOf(e.currentTarget.elements, { kind, workerId, mode });
        const visit = await action.run(() => api('POST', '/api/v1/visits', body));
        if (visit) onPlanned(visit);
    }
    return html`<form class="card plan-form" onSubmit=${submit}>
        <${FormError} action=${action} labels=${LABELS} />
        <${KindChoice} kind=${kind} setKind=${setKind} error=${err('plan-kind-visit')} />
        <${Field} id="plan-worker" label="Worker" error=${err('plan-worker')}>
            <select ...${controlProps('plan-worker', err('plan-worker'))} value=${String(workerId)}
                onChange=${(e) => setWorkerId(Number(e.currentTarget.value))}>
                ${workers.map((u) => html`<option key=${u.id} value=${String(u.id)}>
                    ${u.id === session.user.id ? `${u.display_name} (me)` : u.display_name}</option>`)}
            </select>
        <//>
        <${TextField} id="plan-address" label="Address" error=${err('plan-address')} multiline required maxlength="500" rows="2" />
        <div class="plan-pair">
            <${TextField} id="plan-latitude" label="Latitude" hint="Optional, with the longitude" error=${err('plan-latitude')}
                type="number" step="any" min="-90" max="90" inputmode="decimal" />
            <${TextField} id="plan-longitude" label="Longitude" error=${err('plan-longitude')}
                type="number" step="any" min="-180" max="180" inputmode="decimal" />
        </div>
        <${TextField} id="plan-people" label="People at the address" error=${err('plan-people')} multiline maxlength="500" rows="2" />
        <${TextField} id="plan-phones" label="Phone numbers" hint="Numbers at the address, one a line, up to 5"
            error=${err('plan-phones')} multiline rows="2" inputmode="tel" />
        <div class="plan-pair">
            <${TextField} id="plan-arrival" label="Expected arrival" hint="Empty: now" error=${err('plan-arrival')} type="datetime-local" />
            <${TextField} id="plan-departure" label="Expected departure"
                hint=${kind === 'shift' ? 'When the worker expects to be home safe' : 'When the worker expects to leave'}
                error=${err('plan-departure')} type="datetime-local" required />
        </div>
        <${TextField} id="plan-interval" label="Check in every (minutes)" hint="Empty: only by the expected departure"
            error=${err('plan-interval')} type="number" min="1" max="1440" step="1" inputmode="numeric" />
        <${Field} id="plan-mode" label="Travelling by" error=${err('plan-mode')}>
            <select ...${controlProps('plan-mode', err('plan-mode'))} value=${mode} onChange=${(e) => setMode(e.currentTarget.value)}>
                ${MODES.map(([value, label]) => html`<option key=${value} value=${value}>${label}</option>`)}
            </select>
        <//>
        <${TransportFields} mode=${mode} workerId=${workerId} errorFor=${err} />
        <${BuddySelect} dir=${dir} workerId=${workerId} error=${err('plan-buddy')} />
        <${TextField} id="plan-accompanied" label="Accompanied by" error=${err('plan-accompanied')} maxlength="200" />
        <${TextField} id="plan-notes" label="Notes" error=${err('plan-notes')} multiline maxlength="2000" rows="3" />
        <div class=${`field plan-start ${err('plan-start') ? 'field-invalid' : ''}`}>
            <label class="check"><input type="checkbox" ...${controlProps('plan-start', err('plan-start'))} /> Start now</label>
            ${err('plan-start') && html`<span class="field-error" id="plan-start-error">${err('plan-start')}</span>`}
        </div>
        <div class="actions"><button type="submit" disabled=${action.busy}>Plan visit</button></div>
    </form>`;
}

export default function PlanPage() {
    const session = useSession();
    const dir = useDirectory({ force: true }); // who is on duty changes
    const [planned, setPlanned] = useState(null);
    const [formKey, setFormKey] = useState(0);
    useEffect(() => {
        if (planned) document.getElementById('plan-done')?.focus();
    }, [planned]);
    function onPlanned(visit) {
        setPlanned(visit);
        setFormKey((k) => k + 1); // a fresh, empty form for the next one
    }
    return html`<section class="plan">
        <h1 tabindex="-1">Plan a visit</h1>
        ${planned && html`<p role="status" class="ok" id="plan-done" tabindex="-1">
            ${planned.state === 'active' ? 'Visit planned and started' : 'Visit planned'}: ${planned.address}.
            <a href="/out">See who is out</a></p>`}
        ${dir.error && html`<p role="alert" class="error">The list of people could not be read.</p>`}
        ${!dir.loadedAt && !dir.error ? html`<p role="status">Loading…</p>`
            : html`<${PlanForm} key=${formKey} session=${session} dir=${dir} onPlanned=${onPlanned} />`}
    </section>`;
}
