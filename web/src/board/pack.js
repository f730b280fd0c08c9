// The information pack (§9.11, §6.17.6): all an operator needs to find and help the
// worker, laid out in the order a call goes: who, where, with whom, how they travel,
// who has been told.
import { html } from '../html.js';
import { fmtTime, words } from '../format.js';
import { Location } from './location.js';

function Tel({ number }) {
    if (!number) return html`<span class="muted">none recorded</span>`;
    return html`<a href=${`tel:${number.replace(/[^0-9+]/g, '')}`}>${number}</a>`;
}

// A definition list of [term, value] rows; rows whose value is null or empty are left out.
function Facts({ rows }) {
    const shown = rows.filter(([, v]) => v !== null && v !== undefined && v !== '' && v !== false);
    return html`<dl class="board-facts">${shown.map(([term, value]) => html`<div>
        <dt>${term}</dt><dd>${value}</dd></div>`)}</dl>`;
}

function vehicleText(v) {
    if (!v) return null;
    const what = [v.colour, v.make, v.model].filter(Boolean).join(' ');
    return what ? `${what}, registration ${v.registration}` : `registration ${v.registration}`;
}

function transportText(t, vehicle) {
    if (!t || !t.mode) return null;
    const parts = [words(t.mode)];
    if (t.mode === 'car' && vehicle) parts.push(vehicleText(vehicle));
    if (t.route) parts.push(`route ${t.route}`);
    if (t.company) parts.push(`company ${t.company}`);
    if (t.call_sign) parts.push(`call sign ${t.call_sign}`);
    if (t.detail) parts.push(t.detail);
    return parts.join(': ');
}

function WorkerPart({ pack }) {
    const w = pack.worker || {};
    const vw = (pack.visit && pack.visit.worker) || {};
    const nok = vw.next_of_kin;
    return html`<h3>Worker</h3>
        <${Facts} rows=${[
            ['Name', w.display_name || vw.name],
            ['Phone', html`<${Tel} number=${w.phone || vw.phone} />`],
            ['Email', vw.email],
            ['Vehicle', vehicleText(vw.vehicle)],
            ['Next of kin', nok && html`${nok.name}${nok.relation ? ` (${nok.relation})` : ''}
                ${nok.phone && html`, <${Tel} number=${nok.phone} />`}`],
        ]} />`;
}

function VisitPart({ pack }) {
    if (!pack.visit || !pack.visit.visit)
        return html`<h3>Visit</h3><p class="muted">The worker was not on a visit when the alarm opened.</p>`;
    const v = pack.visit.visit;
    const buddy = pack.visit.buddy;
    const phones = v.phones || [];
    return html`<h3>Visit itinerary</h3>
        <${Facts} rows=${[
            ['Address', v.address],
            ['People there', v.people],
            ['Phone numbers there', phones.length > 0 && html`${phones.map((p, i) => html`${i ? ', ' : ''}<${Tel} number=${p} />`)}`],
            ['Travelling by', transportText(v.transport, pack.visit.worker && pack.visit.worker.vehicle)],
            ['Accompanied by', v.accompanied_by],
            ['Expected arrival', v.expected_arrival && fmtTime(v.expected_arrival)],
            ['Expected departure', v.expected_departure && fmtTime(v.expected_departure)],
            ['Started', v.started_at && fmtTime(v.started_at)],
            ['Last check-in', v.last_checkin_at ? fmtTime(v.last_checkin_at) : 'none yet'],
            ['Deadline', v.deadline_at && fmtTime(v.deadline_at)],
            ['Notes', v.notes],
            ['Buddy', buddy && html`${buddy.name}${buddy.phone && html`, <${Tel} number=${buddy.phone} />`}`],
        ]} />`;
}

function AmberPart({ amber }) {
    if (!amber) return html`<h3>Last amber alert</h3><p class="muted">None.</p>`;
    return html`<h3>Last amber alert</h3>
        <p>“${amber.status}” <span class="muted">at ${fmtTime(amber.at)}</span></p>`;
}

function markerText(m) {
    if (typeof m === 'string') return m;
    return (m && (m.label || m.text || m.name || m.summary)) || JSON.stringify(m);
}

function PolicePart({ pack, alarm, nameOf }) {
    const markers = pack.markers || [];
    const told = pack.told || [];
    return html`<h3>Police and who has been told</h3>
        <${Facts} rows=${[
            ['Markers for the address', markers.length ? markers.map(markerText).join('; ') : 'none recorded'],
            ['Police URN', pack.police_urn ? `${pack.police_urn.urn}${pack.police_urn.label ? ` (${pack.police_urn.label})` : ''}` : 'none set'],
            ['Passed to the police under', alarm.police_urn],
            ['Police reference', alarm.police_reference],
            ['Red-alert path', (pack.path || []).map(words).join(', ') || 'none'],
        ]} />
        <p class="label" id="alarm-told">Told</p>
        ${told.length
            ? html`<ul class="board-told" aria-labelledby="alarm-told">${told.map((t) => html`<li>
                ${nameOf(t.user_id)} <span class="muted">at ${fmtTime(t.at, { seconds: true })}</span></li>`)}</ul>`
            : html`<p class="muted">Nobody yet.</p>`}`;
}

export function InformationPack({ alarm, nameOf }) {
    const pack = alarm.pack;
    if (!pack) return html`<p class="error">The server sent no information pack for this alarm.</p>`;
    return html`<${WorkerPart} pack=${pack} />
        <${VisitPart} pack=${pack} />
        <${AmberPart} amber=${pack.last_amber} />
        <h3>Location</h3>
        <${Location} pack=${pack} />
        <${PolicePart} pack=${pack} alarm=${alarm} nameOf=${nameOf} />`;
}
