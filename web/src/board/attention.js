// What makes an unclaimed red alarm impossible to miss beyond its row: the page title
// (seen from another tab), the sound, and the controls of the sound.
import { html, useEffect } from '../html.js';
import { enableSound, muteForAMinute, unmute, useSiren } from './siren.js';

const TITLE_PREFIX = /^\(\d+\) RED ALARM · /;
const clockFmt = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});

// "(2) RED ALARM · notalone" while n unclaimed red alarms wait; the plain title otherwise.
function useAlarmTitle(n) {
    useEffect(() => {
        const plain = document.title.replace(TITLE_PREFIX, '');
        document.title = n ? `(${n}) RED ALARM · ${plain}` : plain;
    }, [n]);
    useEffect(() => () => {
        document.title = document.title.replace(TITLE_PREFIX, '');
    }, []);
}

function soundState(siren, now) {
    if (!siren.supported) return 'unsupported';
    if (!siren.wanted) return 'off';
    if (siren.mutedUntil > now) return 'muted';
    return siren.blocked ? 'blocked' : 'playing';
}

// The sound's controls. data-state (off, playing, muted, blocked, unsupported) says what
// the sound is doing, for people reading the page's code and for the browser tests.
function SoundControls({ siren, now }) {
    const state = soundState(siren, now);
    const muted = siren.mutedUntil > now;
    return html`<div class="board-sound" data-testid="alarm-sound" data-state=${state}>
        ${state === 'blocked' && html`<button type="button" class="danger" onClick=${enableSound}>
            Click to enable the alarm sound</button>`}
        ${state === 'unsupported' && html`<span class="muted">This browser cannot play the alarm sound.</span>`}
        ${muted
            ? html`<button type="button" class="secondary" onClick=${unmute}
                title="Turn the sound back on now">Sound muted until ${clockFmt.format(siren.mutedUntil)}</button>`
            : html`<button type="button" class="secondary" onClick=${muteForAMinute}>Mute sound for 1 minute</button>`}
    </div>`;
}

// Title, sound and sound controls for n unclaimed red alarms; now re-renders the mute text.
export function Attention({ n, now }) {
    useAlarmTitle(n);
    const siren = useSiren(n > 0);
    return html`<${SoundControls} siren=${siren} now=${now} />`;
}
