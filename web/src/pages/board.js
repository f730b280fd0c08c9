// The operator board: every open and claimed alarm the user sees, live over the event
// stream. An unclaimed red or duress alarm is impossible to miss: a strong red row with a
// timer counting up, the page title, and a sound until someone claims it.
import { html, useState } from '../html.js';
import { api, errorText } from '../api.js';
import { useSession } from '../session.js';
import { fmtDuration, fmtTime, useNow, words } from '../format.js';
import { isUnclaimedRed, kindOf, useQueue } from '../board/queue.js';
import { useNames } from '../board/names.js';
import { Attention } from '../board/attention.js';
import { serverNow } from '../out/server_clock.js';
import '../styles/board.css';

const KIND_LABELS = { red: 'Red', duress: 'Duress', amber: 'Amber', overdue: 'Overdue', test: 'Test' };

function kindLabel(alarm) {
    return KIND_LABELS[kindOf(alarm)] || words(kindOf(alarm));
}

// How long ago iso was on the server's clock (the browser's may be off).
function sinceMs(iso, now) {
    const server = serverNow(now);
    return Math.max(0, server - (new Date(iso).getTime() || server));
}

// Who holds the alarm, or how long it has waited for someone to.
function Holder({ alarm, now, me, nameOf }) {
    if (alarm.state === 'open')
        return html`<span class="board-timer">Unclaimed ${fmtDuration(sinceMs(alarm.opened_at, now))}</span>`;
    const who = alarm.claimed_by === me ? 'you' : nameOf(alarm.claimed_by);
    return html`<span>Claimed by <strong>${who}</strong>
        <span class="muted"> at ${fmtTime(alarm.claimed_at)}</span></span>`;
}

function AlarmRow({ alarm, now, me, nameOf, onClaim, claiming }) {
    const unclaimed = isUnclaimedRed(alarm);
    const kind = kindOf(alarm);
    const nameId = `board-alarm-${alarm.id}`;
    const classes = ['board-row', `board-row-${kind}`, `board-row-${alarm.state}`];
    if (unclaimed) classes.push('board-row-unclaimed');
    if (alarm.cancelled_at) classes.push('board-row-cancelled');
    return html`<li class=${classes.join(' ')} data-testid="alarm-row" data-alarm-id=${alarm.id}
            data-state=${alarm.state} data-kind=${kind} data-unclaimed=${unclaimed ? 'true' : undefined}>
        <span class=${`badge board-kind board-kind-${kind}`}>${kindLabel(alarm)}</span>
        <div class="board-who">
            <a id=${nameId} href=${`/alarms/${alarm.id}`} class="board-link">${alarm.worker_name}<span
                class="board-link-extra">: ${kindLabel(alarm).toLowerCase()} alarm ${alarm.id}</span></a>
            <div class="board-meta muted">
                Opened ${fmtTime(alarm.opened_at, { seconds: true })}
                ${alarm.source && html` · ${words(alarm.source)}`}
                ${alarm.cancelled_at && html` · <strong>cancelled by the worker</strong> at ${fmtTime(alarm.cancelled_at)}`}
            </div>
        </div>
        <div class="board-holder"><${Holder} alarm=${alarm} now=${now} me=${me} nameOf=${nameOf} /></div>
        <div class="board-actions">
            ${alarm.state === 'open' && html`<button type="button" class=${unclaimed ? 'danger' : ''}
                aria-describedby=${nameId} disabled=${claiming} onClick=${() => onClaim(alarm)}>
                ${claiming ? 'Claiming…' : 'Claim'}</button>`}
        </div>
    </li>`;
}

// Claims from the board; the answer (or the live event) reloads the queue.
function useClaim(reload) {
    const [claiming, setClaiming] = useState(null);
    const [error, setError] = useState(null);
    async function claim(alarm) {
        setClaiming(alarm.id);
        setError(null);
        try {
            await api('POST', `/api/v1/alarms/${alarm.id}/claim`, {});
        } catch (err) {
            const why = err.status === 409 ? 'someone else claimed it first, or it is closed. ' : '';
            setError(`Alarm ${alarm.id} (${alarm.worker_name}) was not claimed: ${why}${errorText(err)}`);
        } finally {
            setClaiming(null);
            reload();
        }
    }
    return { claiming, error, claim };
}

function QueueList({ items, now, me, claiming, onClaim }) {
    const nameOf = useNames();
    return html`<ul class="board-list" role="list" aria-label="Open alarms">
        ${items.map((a) => html`<${AlarmRow} key=${a.id} alarm=${a} now=${now} me=${me} nameOf=${nameOf}
            claiming=${claiming === a.id} onClaim=${onClaim} />`)}
    </ul>`;
}

function Summary({ unclaimed }) {
    const n = unclaimed.length;
    return html`<div class=${n ? 'board-summary board-summary-red' : 'board-summary'} aria-live="assertive">
        ${n ? `${n} unclaimed red alarm${n > 1 ? 's' : ''}: claim ${n > 1 ? 'them' : 'it'} now.` : ''}
    </div>`;
}

export default function BoardPage() {
    const session = useSession();
    const now = useNow(1000);
    const queue = useQueue();
    const { claiming, error, claim } = useClaim(queue.reload);
    const items = queue.items || [];
    const unclaimed = items.filter(isUnclaimedRed);
    return html`<section class="board">
        <div class="board-head">
            <h1 tabindex="-1">Alarms</h1>
            <${Attention} n=${unclaimed.length} now=${now} />
        </div>
        <${Summary} unclaimed=${unclaimed} />
        ${queue.error && html`<p role="alert" class="error">The list of alarms could not be loaded: ${queue.error}
            ${queue.items && ' The list below may be out of date.'}</p>`}
        ${error && html`<p role="alert" class="error">${error}</p>`}
        ${queue.items === null && !queue.error && html`<p role="status">Loading alarms…</p>`}
        ${queue.items && html`<${QueueList} items=${items} now=${now} me=${session.user.id}
            claiming=${claiming} onClaim=${claim} />`}
        ${queue.items && !items.length && html`<p class="board-empty">No open alarms</p>`}
        ${queue.updatedAt && html`<p class="muted board-updated">Updated ${fmtTime(new Date(queue.updatedAt).toISOString(), { seconds: true })}</p>`}
    </section>`;
}
