// A day at a glance: 24 hours across, visits as spans, check-ins and amber alerts as
// marks. Plain SVG positioned in percent (no chart library, no inline styles).
import { html } from '../html.js';
import { fmtTime } from '../format.js';
import { visitSpan } from './day_data.js';

const HOURS = [0, 3, 6, 9, 12, 15, 18, 21, 24];

function pct(t, [start, end]) {
    const p = ((t - start) / (end - start)) * 100;
    return Math.min(100, Math.max(0, p));
}

function Span({ visit, bounds, now }) {
    const [a, b] = visitSpan(visit, now);
    const x = pct(a, bounds);
    const w = Math.max(0.4, pct(b, bounds) - x);
    const cls = `day-span day-span-${visit.state}${visit.outcome ? ` day-span-${visit.outcome}` : ''}`;
    return html`<rect class=${cls} x=${`${x}%`} y="18" width=${`${w}%`} height="22" rx="3">
        <title>${visit.address}: ${fmtTime(new Date(a).toISOString())} to ${fmtTime(new Date(b).toISOString())}</title>
    </rect>`;
}

function Mark({ entry, bounds }) {
    const x = `${pct(Date.parse(entry.at), bounds)}%`;
    if (entry.kind === 'amber')
        return html`<circle class="day-mark-amber" cx=${x} cy="10" r="5"><title>${fmtTime(entry.at)} ${entry.what}</title></circle>`;
    const cls = entry.kind === 'deadline_missed' ? 'day-mark-missed' : 'day-mark-checkin';
    return html`<line class=${cls} x1=${x} x2=${x} y1="14" y2="44"><title>${fmtTime(entry.at)} ${entry.what}</title></line>`;
}

export function DayBar({ visits, entries, bounds, now }) {
    const marks = entries.filter((e) => e.kind === 'checkin' || e.kind === 'amber' || e.kind === 'deadline_missed');
    const checkins = marks.filter((e) => e.kind === 'checkin').length;
    const ambers = marks.filter((e) => e.kind === 'amber').length;
    const label = `Day at a glance: ${visits.length} visit${visits.length === 1 ? '' : 's'}, `
        + `${checkins} check-in${checkins === 1 ? '' : 's'}, ${ambers} amber alert${ambers === 1 ? '' : 's'}`;
    const showNow = now >= bounds[0] && now < bounds[1];
    return html`<figure class="day-figure">
        <svg class="day-bar" role="img" aria-label=${label} width="100%" height="66">
            <rect class="day-track" x="0" y="18" width="100%" height="22" />
            ${HOURS.map((h) => html`<line class="day-tick" key=${h} x1=${`${(h / 24) * 100}%`} x2=${`${(h / 24) * 100}%`} y1="16" y2="46" />`)}
            ${HOURS.map((h) => html`<text class="day-hour" key=${`t${h}`} x=${`${(h / 24) * 100}%`} y="60"
                text-anchor=${h === 0 ? 'start' : h === 24 ? 'end' : 'middle'}>${String(h).padStart(2, '0')}:00</text>`)}
            ${visits.map((v) => html`<${Span} key=${v.id} visit=${v} bounds=${bounds} now=${now} />`)}
            ${marks.map((e, i) => html`<${Mark} key=${i} entry=${e} bounds=${bounds} />`)}
            ${showNow && html`<line class="day-now" x1=${`${pct(now, bounds)}%`} x2=${`${pct(now, bounds)}%`} y1="4" y2="48" />`}
        </svg>
        <figcaption class="day-legend">
            <span class="day-key day-key-visit">Visit</span>
            <span class="day-key day-key-checkin">Check-in</span>
            <span class="day-key day-key-amber">Amber alert</span>
            <span class="day-key day-key-missed">Missed deadline</span>
            ${showNow && html`<span class="day-key day-key-now">Now</span>`}
        </figcaption>
    </figure>`;
}
