// The live event stream (GET /api/v1/events) shared by every page: one EventSource for
// the whole console, reopened by itself whenever it drops, resuming after the last event
// it had, so a board that lost the server (restart, network) catches up without a reload.
import { createStore, useEffect, useRef } from './html.js';
import { useStore } from './store_hook.js';

// Every kind the server sends (docs/api.md, Live events). EventSource delivers a named
// event only to a listener of that name.
const KINDS = [
    'visit.started', 'visit.checkin', 'visit.extended', 'visit.overdue', 'visit.closed',
    'escalation.opened', 'escalation.level', 'escalation.acknowledged', 'escalation.resolved',
    'alarm.opened', 'alarm.claimed', 'alarm.updated', 'alarm.renotified', 'alarm.closed',
];

// How long a dropped stream may take to come back before the console says it is offline.
const OFFLINE_AFTER_MS = 4000;
// How often the server is asked whether it answers: EventSource cannot see the server's
// keep-alive comments, so a connection that died silently would otherwise look live.
const PROBE_EVERY_MS = 15000;
const RETRY_MAX_MS = 10000;

export const connectionStore = createStore('connecting');
const handlers = new Set();

let source = null;
let lastId = null;
let hadOpen = false;
let retryMs = 1000;
let retryTimer = null;
let offlineTimer = null;
let probeTimer = null;
let running = false;

function deliver(event) {
    for (const fn of [...handlers]) {
        try {
            fn(event);
        } catch (err) {
            console.error('event handler failed', err.message);
        }
    }
}

function onEvent(e) {
    if (e.lastEventId) lastId = e.lastEventId;
    let data;
    try {
        data = JSON.parse(e.data);
    } catch {
        return; // a line the console cannot read is ignored, as unknown kinds are
    }
    deliver(data);
}

function setState(state) {
    if (connectionStore.get() !== state) connectionStore.set(state);
}

function dropped() {
    setState(connectionStore.get() === 'offline' ? 'offline' : 'connecting');
    if (!offlineTimer) offlineTimer = setTimeout(() => setState('offline'), OFFLINE_AFTER_MS);
}

function open() {
    clearTimeout(retryTimer);
    if (source) source.close();
    // A new EventSource forgets the last id it had: say it in the URL instead.
    const url = lastId ? `/api/v1/events?after=${encodeURIComponent(lastId)}` : '/api/v1/events';
    source = new EventSource(url, { withCredentials: true });
    source.onopen = () => {
        clearTimeout(offlineTimer);
        offlineTimer = null;
        retryMs = 1000;
        setState('live');
        // Pages reload their lists: anything beyond the replay window would be missed.
        if (hadOpen) deliver({ kind: 'stream.resync' });
        hadOpen = true;
    };
    source.onerror = () => {
        dropped();
        // CLOSED: the server refused (restarting, 503, session over); EventSource will not
        // retry by itself, so the console does, more slowly each time.
        if (source.readyState === EventSource.CLOSED) scheduleReopen();
    };
    for (const kind of KINDS) source.addEventListener(kind, onEvent);
    source.onmessage = onEvent;
}

function scheduleReopen() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(open, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}

async function probe() {
    try {
        const res = await fetch('/healthz', { cache: 'no-store' });
        if (!res.ok) throw new Error('not ok');
        if (connectionStore.get() === 'offline' && source.readyState !== EventSource.OPEN) open();
    } catch {
        if (source && source.readyState === EventSource.OPEN) {
            // The server is gone though the stream looks open: start again.
            dropped();
            scheduleReopen();
        }
    }
}

export function startEvents() {
    if (running) return;
    running = true;
    hadOpen = false;
    open();
    probeTimer = setInterval(probe, PROBE_EVERY_MS);
    window.addEventListener('online', open);
}

export function stopEvents() {
    running = false;
    clearTimeout(retryTimer);
    clearTimeout(offlineTimer);
    offlineTimer = null;
    clearInterval(probeTimer);
    window.removeEventListener('online', open);
    if (source) source.close();
    source = null;
    lastId = null;
    setState('connecting');
}

// Calls handler(event) for every live event while the component is mounted. handler may
// change between renders; the latest one is used.
export function useEvents(handler) {
    const ref = useRef(handler);
    ref.current = handler;
    useEffect(() => {
        const fn = (e) => ref.current(e);
        handlers.add(fn);
        return () => handlers.delete(fn);
    }, []);
}

export function useConnection() {
    return useStore(connectionStore);
}
