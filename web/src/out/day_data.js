// What a worker did on one day: the visits that overlap it with their timelines, and
// their amber alerts, merged into one list of entries in time order.
import { api, ApiError, apiList } from '../api.js';
import { words } from '../format.js';

// The local day of a YYYY-MM-DD string as [start, end) in ms, or null when invalid.
export function dayBounds(date) {
    const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(date || '');
    if (!m) return null;
    const start = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    if (start.getDate() !== Number(m[3])) return null;
    const end = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1);
    return [start.getTime(), end.getTime()];
}

export function isoDate(ms) {
    const d = new Date(ms);
    const two = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

// The day before or after a YYYY-MM-DD date.
export function shiftDate(date, days) {
    const [start] = dayBounds(date);
    const d = new Date(start);
    d.setDate(d.getDate() + days);
    return isoDate(d.getTime());
}

// When a visit began and ended (or will), for drawing and for the day it belongs to.
export function visitSpan(v, now) {
    const start = Date.parse(v.started_at || v.expected_arrival);
    let end;
    if (v.closed_at) end = Date.parse(v.closed_at);
    else if (v.state === 'active') end = Math.max(now, Date.parse(v.expected_departure));
    else end = Date.parse(v.expected_departure);
    return [start, end];
}

// The worker's amber alerts of the day: newest first, paged back until older than it.
async function ambersOf(workerId, [start, end]) {
    const found = [];
    let before = '';
    for (let pages = 0; pages < 50; pages++) {
        const page = await api('GET', `/api/v1/alerts/amber?worker_id=${workerId}&limit=200${before}`);
        for (const a of page.items) {
            const at = Date.parse(a.created_at);
            if (at >= start && at < end) found.push(a);
        }
        const last = page.items[page.items.length - 1];
        if (page.next_before == null || !last || Date.parse(last.created_at) < start) break;
        before = `&before=${page.next_before}`;
    }
    return found;
}

export async function loadDay(workerId, bounds, now) {
    const [start, end] = bounds;
    const worker = await api('GET', `/api/v1/users/${workerId}`);
    const all = await apiList(`/api/v1/visits?worker_id=${workerId}`, { max: 10000 });
    const visits = all.filter((v) => {
        const [a, b] = visitSpan(v, now);
        return a < end && b >= start;
    });
    const details = await Promise.all(visits.map((v) => api('GET', `/api/v1/visits/${v.id}`)));
    let ambers = [];
    let amberNote = null;
    try {
        ambers = await ambersOf(workerId, bounds);
    } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 403) throw err;
        amberNote = 'Amber alerts are not shown: your role may not read this worker\'s.';
    }
    return { worker, visits: details, ambers, amberNote };
}

const EVENT_TEXT = {
    planned: 'Planned',
    started: 'Started',
    checkin: 'Checked in',
    extended: 'Extended',
    ended: 'Ended',
    buddy_nominated: 'Buddy nominated',
    buddy_accepted: 'Buddy accepted',
    reminder_sent: 'Reminder sent',
    deadline_missed: 'Missed a deadline: escalation opened',
    escalation_resolved: 'Escalation resolved',
};

function coords(loc) {
    return loc && loc.latitude != null ? `${loc.latitude.toFixed(5)}, ${loc.longitude.toFixed(5)}` : null;
}

// One list for the timeline: {at, kind, what, where, visitId}.
export function timelineEntries(day, bounds, nameOf) {
    const [start, end] = bounds;
    const out = [];
    for (const v of day.visits) {
        const label = v.kind === 'shift' ? 'Shift' : 'Visit';
        for (const e of v.events || []) {
            let what = `${label}: ${EVENT_TEXT[e.kind] || words(e.kind)}`;
            if (e.kind === 'ended' && e.detail) what += ` (${words(e.detail)})`;
            else if (e.detail) what += `: ${e.detail}`;
            if (e.actor_id != null && e.actor_id !== v.worker_id && e.kind !== 'deadline_missed')
                what += `, by ${nameOf(e.actor_id)}`;
            const at = coords(e.location);
            out.push({ at: e.at, kind: e.kind, what, where: at ? `${v.address} (${at})` : v.address, visitId: v.id });
        }
    }
    for (const a of day.ambers) {
        let what = `Amber alert: ${a.status}`;
        if (a.state === 'alarmed') what += ' (its deadline passed: alarm raised)';
        else if (a.deadline_at) what += ` (until ${new Date(a.deadline_at).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })})`;
        out.push({ at: a.created_at, kind: 'amber', what, where: coords(a.location) || '—', visitId: a.visit_id });
    }
    return out.filter((x) => {
        const t = Date.parse(x.at);
        return t >= start && t < end;
    }).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
