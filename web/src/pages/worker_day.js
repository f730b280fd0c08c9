// A worker's day: their visits (with every check-in and event) and amber alerts of one
// day, as a timeline and a bar of the 24 hours. ?date=YYYY-MM-DD, today by default.
import '../styles/pages.css';
import { html, useEffect, useState } from '../html.js';
import { errorText } from '../api.js';
import { useEvents } from '../stream.js';
import { useLocation } from '../router.js';
import { fmtTime, useNow } from '../format.js';
import { userName, useDirectory } from '../out/directory.js';
import { noteEventTime, noteRecordTime, serverNow } from '../out/server_clock.js';
import { useReload } from '../out/reload.js';
import { dayBounds, isoDate, loadDay, shiftDate, timelineEntries } from '../out/day_data.js';
import { DayBar } from '../out/day_bar.js';

function dateOf(location) {
    const q = new URLSearchParams(location.split('?')[1] || '');
    const d = q.get('date');
    return dayBounds(d) ? d : isoDate(serverNow());
}

function DayNav({ workerId, date }) {
    const base = `/workers/${workerId}/day`;
    const today = isoDate(serverNow());
    return html`<nav class="day-nav" aria-label="Days">
        <a href=${`${base}?date=${shiftDate(date, -1)}`} rel="prev">← Previous day</a>
        ${date !== today && html`<a href=${`${base}?date=${today}`}>Today</a>`}
        <a href=${`${base}?date=${shiftDate(date, 1)}`} rel="next">Next day →</a>
    </nav>`;
}

function Timeline({ entries }) {
    if (entries.length === 0) return html`<p class="muted">Nothing recorded on this day.</p>`;
    return html`<ol class="day-timeline" aria-label="Timeline">
        ${entries.map((e, i) => html`<li key=${i} class=${`day-entry day-entry-${e.kind}`}>
            <time datetime=${e.at}>${fmtTime(e.at)}</time>
            <span class="day-what">${e.what}</span>
            <span class="day-where"><span class="pages-sr-only">Where: </span>${e.where}</span>
        </li>`)}
    </ol>`;
}

export default function WorkerDayPage({ params }) {
    const workerId = Number(params.id);
    const date = dateOf(useLocation());
    const bounds = dayBounds(date);
    const dir = useDirectory();
    const [day, setDay] = useState(null);
    const [error, setError] = useState(null);
    const now = serverNow(useNow(30000));

    const reload = useReload(async (isCurrent) => {
        try {
            const next = await loadDay(workerId, bounds, serverNow());
            for (const v of next.visits) noteRecordTime(v.updated_at);
            if (isCurrent()) {
                setDay({ ...next, date });
                setError(null);
            }
        } catch (err) {
            if (isCurrent()) setError(errorText(err));
        }
    });
    useEffect(() => {
        setDay(null);
        reload();
    }, [workerId, date]);
    useEvents((e) => {
        if (e.at) noteEventTime(e.at);
        if (e.kind === 'stream.resync' || (e.worker_id === workerId && e.kind.startsWith('visit.'))) reload();
    });

    const name = day ? day.worker.display_name : userName(dir, workerId);
    const entries = day ? timelineEntries(day, bounds, (id) => userName(dir, id)) : [];
    return html`<section class="day">
        <h1 tabindex="-1">${name}: day of ${date}</h1>
        <${DayNav} workerId=${workerId} date=${date} />
        ${error && html`<p role="alert" class="error">${error}</p>`}
        ${!day && !error && html`<p role="status">Loading…</p>`}
        ${day && html`
            <${DayBar} visits=${day.visits} entries=${entries} bounds=${bounds} now=${now} />
            ${day.amberNote && html`<p class="notice">${day.amberNote}</p>`}
            <h2>Timeline</h2>
            <${Timeline} entries=${entries} />`}
    </section>`;
}
