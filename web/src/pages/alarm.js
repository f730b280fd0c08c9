// One alarm: its state, the information pack, what the operator does about it (claim,
// calls, escalation, closing, notes), its timeline and its recordings. Live: it reloads
// when an event names it. The sound and the title keep going while any red alarm waits
// unclaimed, so that handling one alarm never hides the next.
import { html, useEffect } from '../html.js';
import { useSession } from '../session.js';
import { fmtDuration, fmtTime, useNow, words } from '../format.js';
import { useAlarm } from '../board/alarm_data.js';
import { isUnclaimedRed, kindOf, useQueue } from '../board/queue.js';
import { rememberName, useNames } from '../board/names.js';
import { Attention } from '../board/attention.js';
import { Actions } from '../board/actions.js';
import { InformationPack } from '../board/pack.js';
import { Timeline } from '../board/timeline.js';
import { Recordings } from '../board/recordings.js';
import { serverNow } from '../out/server_clock.js';
import '../styles/board.css';

// The other unclaimed red alarms, with the sound and the title while any waits.
function OthersWaiting({ id, now }) {
    const queue = useQueue();
    const unclaimed = (queue.items || []).filter(isUnclaimedRed);
    const others = unclaimed.filter((a) => a.id !== id).length;
    return html`<div class="board-others">
        ${others > 0 && html`<p class="board-summary board-summary-red">
            ${others} other unclaimed red alarm${others > 1 ? 's' : ''}: <a href="/board">see the board</a></p>`}
        <${Attention} n=${unclaimed.length} now=${now} />
    </div>`;
}

function Row({ term, children }) {
    return html`<div><dt>${term}</dt><dd>${children}</dd></div>`;
}

function Summary({ alarm, now }) {
    const kind = kindOf(alarm);
    const waited = Math.max(0, serverNow(now) - new Date(alarm.opened_at).getTime());
    return html`${alarm.duress && html`<p class="board-duress" role="note">SILENT ALARM (duress code): do not call
            the worker openly.</p>`}
        <dl class="board-facts board-summary-facts">
            <${Row} term="State"><strong data-testid="alarm-state" class=${`board-state board-state-${alarm.state}`}>${alarm.state}</strong>
                ${alarm.state === 'open' && html` <span class="board-timer">Unclaimed ${fmtDuration(waited)}</span>`}<//>
            <${Row} term="Kind">${words(kind)}${alarm.cancelled_at ? ' (cancelled by the worker)' : ''}<//>
            <${Row} term="Source">${words(alarm.source)}<//>
            <${Row} term="Opened">${fmtTime(alarm.opened_at, { seconds: true })}<//>
            ${alarm.message && html`<${Row} term="Message">“${alarm.message}”<//>`}
            ${alarm.cancelled_at && html`<${Row} term="Cancelled">${fmtTime(alarm.cancelled_at, { seconds: true })},
                by the worker: an accidental press, to be closed as false<//>`}
            ${alarm.renotify_count > 0 && html`<${Row} term="Told again">${alarm.renotify_count} times<//>`}
            ${alarm.state === 'closed' && html`<${Row} term="Outcome">${words(alarm.outcome)}<//>`}
            ${alarm.found_safe && html`<${Row} term="Confirmed safe">${alarm.found_safe}<//>`}
            ${alarm.close_note && html`<${Row} term="Closing note">${alarm.close_note}<//>`}
        </dl>`;
}

function Body({ alarm, me, canHear, now, reload }) {
    const nameOf = useNames();
    useEffect(() => rememberName(alarm.worker_id, alarm.worker_name), [alarm.worker_id, alarm.worker_name]);
    return html`<${Summary} alarm=${alarm} now=${now} />
        <div class="board-alarm-grid">
            <section class="board-pack" aria-labelledby="alarm-pack">
                <h2 id="alarm-pack">Information pack</h2>
                <${InformationPack} alarm=${alarm} nameOf=${nameOf} />
            </section>
            <div class="board-alarm-side">
                <section aria-labelledby="alarm-handle">
                    <h2 id="alarm-handle">Handling</h2>
                    <${Actions} alarm=${alarm} me=${me} nameOf=${nameOf} onChange=${reload} />
                </section>
                <section aria-labelledby="alarm-timeline">
                    <h2 id="alarm-timeline">Timeline</h2>
                    <${Timeline} lines=${alarm.timeline} nameOf=${nameOf} />
                </section>
                <section aria-labelledby="alarm-recordings">
                    <h2 id="alarm-recordings">Recordings</h2>
                    <${Recordings} evidence=${alarm.evidence} canHear=${canHear} />
                </section>
            </div>
        </div>`;
}

export default function AlarmPage({ params }) {
    const id = /^[1-9][0-9]{0,17}$/.test(params.id) ? Number(params.id) : 0;
    const session = useSession();
    const now = useNow(1000);
    const { alarm, error, missing, reload } = useAlarm(id);
    const title = alarm ? `Alarm ${alarm.id}: ${alarm.worker_name}` : `Alarm ${params.id}`;
    return html`<article class="board-alarm">
        <${OthersWaiting} id=${id} now=${now} />
        <p class="board-back"><a href="/board">← All alarms</a></p>
        <h1 tabindex="-1">${title}</h1>
        ${missing && html`<p role="alert" class="error">There is no alarm ${params.id}, or it is not one you may see.</p>`}
        ${error && !missing && html`<p role="alert" class="error">The alarm could not be loaded: ${error}
            ${alarm && ' What is shown may be out of date.'}</p>`}
        ${!alarm && !error && !missing && html`<p role="status">Loading the alarm…</p>`}
        ${alarm && html`<${Body} alarm=${alarm} me=${session.user.id} canHear=${session.has('lsms')}
            now=${now} reload=${reload} />`}
    </article>`;
}
