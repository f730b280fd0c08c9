// The table of workers out: one row per active visit, overdue ones first and red.
import { html } from '../html.js';
import { fmtAgo, fmtCountdown, fmtDuration, fmtTime } from '../format.js';
import { managesWorker, userName } from './directory.js';
import { levelText, toldChannel, toldUserIds } from './cases.js';
import { AcknowledgeButton, EndVisitForm, ResolveForm } from './actions.js';

// Overdue: the deadline has passed (by the server's clock) or a case is open.
export function isOverdue(v, now) {
    return !!v.escalation_id || (v.deadline_at != null && Date.parse(v.deadline_at) <= now);
}

// Overdue first, then by deadline, soonest first.
export function sortVisits(visits, now) {
    const due = (v) => (v.deadline_at ? Date.parse(v.deadline_at) : Infinity);
    return [...visits].sort((a, b) => (isOverdue(b, now) - isOverdue(a, now)) || (due(a) - due(b)) || (a.id - b.id));
}

function CaseCell({ esc, visit, dir, overdue }) {
    if (!esc) {
        return overdue
            ? html`<span class="badge badge-red">Deadline passed</span>`
            : html`<span class="muted">None</span>`;
    }
    if (esc.state === 'resolved') {
        return esc.outcome === 'police'
            ? html`<span class="badge badge-red">Handed to the police</span>
                <div>Reference ${esc.police_reference || '—'}, ${fmtTime(esc.resolved_at)}</div>
                <div class="muted">Stays here until the visit is ended.</div>`
            : html`<span class="muted">Resolved ${fmtTime(esc.resolved_at)}</span>`;
    }
    const told = toldUserIds(esc).map((id) => userName(dir, id));
    if (toldChannel(esc)) told.push('the organisation channel');
    return html`<span class="badge badge-red">Escalated</span>
        <div>${levelText(esc)}${esc.level_due_at && html`<span class="muted">, next level ${fmtTime(esc.level_due_at)}</span>`}</div>
        <div>${esc.acknowledged_by
            ? `Acknowledged by ${userName(dir, esc.acknowledged_by)} at ${fmtTime(esc.acknowledged_at)}`
            : 'Not acknowledged yet'}</div>
        <div class="out-told">Told: ${told.length ? told.join(', ') : 'nobody yet'}</div>`;
}

function Actions({ visit, esc, dir, session, onDone }) {
    const me = session.user.id;
    const name = userName(dir, visit.worker_id);
    const told = esc ? toldUserIds(esc) : [];
    const openCase = esc && esc.state === 'open';
    const mayHandleCase = openCase && (told.includes(me) || esc.acknowledged_by === me
        || session.has('manager', 'senior_manager', 'operator', 'admin'));
    const mayEnd = visit.worker_id === me || session.has('senior_manager', 'admin')
        || managesWorker(dir, me, visit.worker_id);
    if (!mayHandleCase && !mayEnd) return html`<span class="muted">—</span>`;
    return html`<div class="out-actions">
        ${mayHandleCase && !esc.acknowledged_by && html`<${AcknowledgeButton} esc=${esc} workerName=${name} onDone=${onDone} />`}
        ${mayHandleCase && html`<${ResolveForm} esc=${esc} workerName=${name} onDone=${onDone} />`}
        ${mayEnd && html`<${EndVisitForm} visit=${visit} workerName=${name} onDone=${onDone} />`}
    </div>`;
}

function VisitRow({ visit: v, esc, dir, session, now, onDone }) {
    const overdue = isOverdue(v, now);
    const buddy = v.buddy_id == null ? '—'
        : `${userName(dir, v.buddy_id)}${v.buddy_accepted ? '' : ' (not accepted yet)'}`;
    return html`<tr data-testid="visit-row" data-visit-id=${v.id} data-overdue=${overdue ? 'true' : 'false'}
        class=${overdue ? 'out-row out-overdue' : 'out-row'}>
        <td data-label="Worker">
            <a href=${`/workers/${v.worker_id}/day`}>${userName(dir, v.worker_id)}</a>
            ${v.kind === 'shift' && html` <span class="badge">shift</span>`}
        </td>
        <td data-label="Address" class="out-address">${v.address}</td>
        <td data-label="Deadline">
            <span>${fmtTime(v.deadline_at)}</span>
            <span class=${overdue ? 'out-countdown out-late' : 'out-countdown'}>${fmtCountdown(v.deadline_at, now)}</span>
        </td>
        <td data-label="Last check-in">${v.last_checkin_at
            ? html`${fmtTime(v.last_checkin_at)} <span class="muted">(${fmtAgo(v.last_checkin_at, now)})</span>`
            : html`<span class="muted">None since the start, ${fmtTime(v.started_at)}</span>`}</td>
        <td data-label="Buddy">${buddy}</td>
        <td data-label="Escalation"><${CaseCell} esc=${esc} visit=${v} dir=${dir} overdue=${overdue} /></td>
        <td data-label="Actions"><${Actions} visit=${v} esc=${esc} dir=${dir} session=${session} onDone=${onDone} /></td>
    </tr>`;
}

export function VisitTable({ visits, cases, dir, session, now, onDone }) {
    return html`<table class="stack out-table" aria-label="Workers out">
        <thead><tr>
            <th scope="col">Worker</th><th scope="col">Address</th><th scope="col">Deadline</th>
            <th scope="col">Last check-in</th><th scope="col">Buddy</th><th scope="col">Escalation</th>
            <th scope="col">Actions</th>
        </tr></thead>
        <tbody>${sortVisits(visits, now).map((v) => html`<${VisitRow} key=${v.id} visit=${v}
            esc=${cases.get(v.id)} dir=${dir} session=${session} now=${now} onDone=${onDone} />`)}</tbody>
    </table>`;
}

// Planned visits of today whose expected arrival is more than LATE_MS ago.
const LATE_MS = 15 * 60 * 1000;

export function lateStarters(planned, now) {
    const today = new Date(now).toDateString();
    return planned.filter((v) => {
        const arrival = Date.parse(v.expected_arrival);
        return new Date(arrival).toDateString() === today && now - arrival > LATE_MS;
    }).sort((a, b) => Date.parse(a.expected_arrival) - Date.parse(b.expected_arrival));
}

export function PlannedTable({ visits, dir, now }) {
    return html`<table class="stack out-planned" aria-label="Planned, not started">
        <thead><tr><th scope="col">Worker</th><th scope="col">Address</th>
            <th scope="col">Expected arrival</th><th scope="col">Late by</th><th scope="col">Buddy</th></tr></thead>
        <tbody>${visits.map((v) => html`<tr key=${v.id} data-testid="planned-row" data-visit-id=${v.id}>
            <td data-label="Worker"><a href=${`/workers/${v.worker_id}/day`}>${userName(dir, v.worker_id)}</a></td>
            <td data-label="Address">${v.address}</td>
            <td data-label="Expected arrival">${fmtTime(v.expected_arrival)}</td>
            <td data-label="Late by">${fmtDuration(now - Date.parse(v.expected_arrival))}</td>
            <td data-label="Buddy">${userName(dir, v.buddy_id)}</td>
        </tr>`)}</tbody>
    </table>`;
}
