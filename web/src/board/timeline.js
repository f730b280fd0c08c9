// The alarm's timeline, oldest first (the newest line last, as a log reads), each line in
// words with who did it.
import { html } from '../html.js';
import { fmtTime, words } from '../format.js';

const CALLED = {
    worker: 'the worker',
    contact: 'a contact',
    emergency_services: 'emergency services (999)',
    police_101: 'the police (101)',
    police_urn: 'the police under the URN',
};

function told(line, nameOf) {
    const d = line.data || {};
    if (d.user_id != null) return `Told ${nameOf(d.user_id)}`;
    if (d.channel_id != null) return `Told channel ${d.channel_id}`;
    return `Told ${line.detail || ''}`;
}

function call(line) {
    const d = line.data || {};
    const who = [d.name, d.number].filter(Boolean).join(', ');
    let text = `Call to ${CALLED[d.to || line.detail] || words(line.detail)}${who ? ` (${who})` : ''}: ${d.outcome || ''}`;
    if (d.urn) text += `. Police URN ${d.urn}`;
    if (d.police_reference) text += `. Police reference ${d.police_reference}`;
    return text;
}

function closed(line) {
    const d = line.data || {};
    let text = `Closed as ${words(line.detail)}`;
    if (d.found_safe) text += `. Confirmed safe: ${d.found_safe}`;
    if (d.note) text += `. Note: ${d.note}`;
    return text;
}

function escalated(line) {
    const d = line.data || {};
    const target = d.target_id != null ? ` ${d.target_id}` : '';
    return `Escalated to ${words(line.detail)}${target}${d.note ? `: ${d.note}` : ''}`;
}

function claimed(line, nameOf) {
    const m = /^taken over from user (\d+)$/.exec(line.detail || '');
    return m ? `Taken over from ${nameOf(Number(m[1]))}` : 'Claimed';
}

const TEXT = {
    opened: (l) => `Alarm opened (${words(l.detail)})`,
    notified: told,
    told_again: toldAgain,
    claimed,
    call,
    note: (l) => `Note: ${l.detail || ''}`,
    escalated,
    evidence: (l) => `File attached (SHA-256 ${l.detail || '?'})`,
    cancelled: () => 'The worker cancelled it as an accidental press',
    duress: () => 'The duress code was given to cancel it: silent alarm',
    closed,
};

function lineText(line, nameOf) {
    const fn = TEXT[line.kind];
    if (fn) return fn(line, nameOf);
    return line.detail ? `${words(line.kind)}: ${line.detail}` : words(line.kind);
}

function isRenotify(line) {
    if (line.kind === 'renotified') return true;
    return line.kind === 'notified' && /^renotify\d+$/.test((line.data && line.data.step) || '');
}

function roundOf(line) {
    return line.kind === 'renotified' ? `renotify${line.detail}` : line.data.step;
}

// Rounds of "told again" (every minute while nobody claims) folded into one line each run,
// so that a long wait does not push everything else off the page.
function fold(lines) {
    const out = [];
    for (const line of lines) {
        const last = out[out.length - 1];
        if (!isRenotify(line)) {
            out.push(line);
        } else if (last && last.kind === 'told_again') {
            last.rounds.add(roundOf(line));
            if (line.data && line.data.user_id != null) last.users.add(line.data.user_id);
            last.until = line.at;
        } else {
            const users = new Set(line.data && line.data.user_id != null ? [line.data.user_id] : []);
            out.push({ id: `again-${line.id}`, at: line.at, kind: 'told_again', actor_id: null,
                rounds: new Set([roundOf(line)]), users, until: line.at });
        }
    }
    return out;
}

function toldAgain(line, nameOf) {
    const who = [...line.users].map(nameOf).join(', ');
    const times = line.rounds.size === 1 ? 'once' : `${line.rounds.size} times`;
    return `Nobody had claimed it: told again ${times}, the last at ${fmtTime(line.until, { seconds: true })}${who ? ` (${who})` : ''}`;
}

export function Timeline({ lines, nameOf }) {
    if (!lines || !lines.length) return html`<p class="muted">Nothing yet.</p>`;
    return html`<ol class="board-timeline" aria-label="Alarm timeline">
        ${fold(lines).map((l) => html`<li key=${l.id} class=${`board-line board-line-${l.kind}`}>
            <time datetime=${l.at}>${fmtTime(l.at, { seconds: true })}</time>
            <span class="board-line-text">${lineText(l, nameOf)}</span>
            ${l.actor_id != null && html`<span class="muted board-line-who">by ${nameOf(l.actor_id)}</span>`}
        </li>`)}
    </ol>`;
}
