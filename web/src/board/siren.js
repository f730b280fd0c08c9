// The alarm sound: a pattern of tones made with Web Audio (no audio file to load or block),
// repeating while any page wants it (an unclaimed red alarm exists). The operator may mute
// it for one minute at a time, never longer: it comes back by itself.
//
// Browsers keep audio suspended until the user has interacted with the page (after a
// reload, say). Then the state says "blocked" and the page offers a button; any click or
// key on the page also unlocks it.
import { createStore, useEffect } from '../html.js';
import { useStore } from '../store_hook.js';

export const MUTE_MS = 60000;
const REPEAT_MS = 2500;
const TONES = [880, 660, 880, 660]; // Hz, two-tone like a siren
const TONE_S = 0.18;
const GAP_S = 0.06;
const VOLUME = 0.2;

// wanted: pages asking for the sound; mutedUntil: ms since the epoch, 0 when not muted;
// blocked: the browser holds audio until a gesture; supported: Web Audio exists.
export const sirenStore = createStore({
    wanted: 0,
    mutedUntil: 0,
    blocked: false,
    supported: typeof window !== 'undefined' && !!(window.AudioContext || window.webkitAudioContext),
});

let ctx = null;
let loop = null;
let unmuteTimer = null;

function patch(fields) {
    sirenStore.set((s) => ({ ...s, ...fields }));
}

function context() {
    if (ctx) return ctx;
    const Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    ctx = new Ctor();
    ctx.onstatechange = () => patch({ blocked: ctx.state === 'suspended' && sirenStore.get().wanted > 0 });
    return ctx;
}

function tone(c, at, freq) {
    const osc = c.createOscillator();
    const gain = c.createGain();
    osc.type = 'square';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(VOLUME, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + TONE_S);
    osc.connect(gain);
    gain.connect(c.destination);
    osc.start(at);
    osc.stop(at + TONE_S + 0.02);
}

function burst() {
    const s = sirenStore.get();
    if (!s.wanted || s.mutedUntil > Date.now()) return;
    const c = context();
    if (!c) return;
    if (c.state !== 'running') {
        patch({ blocked: true });
        c.resume().catch(() => {}); // settles only after a gesture when audio is blocked
        return;
    }
    if (s.blocked) patch({ blocked: false });
    let at = c.currentTime + 0.03;
    for (const freq of TONES) {
        tone(c, at, freq);
        at += TONE_S + GAP_S;
    }
}

function startLoop() {
    if (loop) return;
    burst();
    loop = setInterval(burst, REPEAT_MS);
}

function stopLoop() {
    clearInterval(loop);
    loop = null;
    patch({ blocked: false });
}

// Asks for the sound until the returned function is called.
export function wantSiren() {
    patch({ wanted: sirenStore.get().wanted + 1 });
    startLoop();
    let done = false;
    return () => {
        if (done) return;
        done = true;
        patch({ wanted: sirenStore.get().wanted - 1 });
        if (!sirenStore.get().wanted) stopLoop();
    };
}

// Silences the sound for one minute from now; it comes back by itself.
export function muteForAMinute() {
    clearTimeout(unmuteTimer);
    patch({ mutedUntil: Date.now() + MUTE_MS });
    unmuteTimer = setTimeout(unmute, MUTE_MS);
}

export function unmute() {
    clearTimeout(unmuteTimer);
    patch({ mutedUntil: 0 });
    if (sirenStore.get().wanted) burst();
}

// A user gesture: lets the browser start audio, and plays at once if the sound is wanted.
export function enableSound() {
    const c = context();
    if (!c) return;
    c.resume().then(() => {
        patch({ blocked: false });
        burst();
    }, () => {});
}

// Any click or key on the page counts as the gesture browsers wait for.
if (typeof document !== 'undefined') {
    const unlock = () => {
        if (ctx && ctx.state === 'suspended' && sirenStore.get().wanted) enableSound();
    };
    document.addEventListener('pointerdown', unlock, true);
    document.addEventListener('keydown', unlock, true);
}

// Plays the sound while active; the siren's state for the controls.
export function useSiren(active) {
    useEffect(() => (active ? wantSiren() : undefined), [active]);
    return useStore(sirenStore);
}
