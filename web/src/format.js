// How times and durations read in the console: local time, 24-hour clock, en-GB.
import { useEffect, useState } from './html.js';

const timeFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const shortTimeFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const dateFmt = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short' });

function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// "14:05", or "Mon 23 Nov 14:05" when not today; "—" for none.
export function fmtTime(iso, { seconds = false } = {}) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '—';
    const t = (seconds ? timeFmt : shortTimeFmt).format(d);
    return sameDay(d, new Date()) ? t : `${dateFmt.format(d)} ${t}`;
}

export function fmtDate(d) {
    return dateFmt.format(d);
}

// "0:07", "4:07", "1:05:09" for a number of milliseconds (negative counts as its size).
export function fmtDuration(ms) {
    const total = Math.floor(Math.abs(ms) / 1000);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const two = (n) => String(n).padStart(2, '0');
    return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

// "in 4:07" before a deadline, "4:07 overdue" after it.
export function fmtCountdown(iso, now) {
    if (!iso) return '—';
    const left = new Date(iso).getTime() - now;
    return left >= 0 ? `in ${fmtDuration(left)}` : `${fmtDuration(left)} overdue`;
}

// "3 min ago", "2 h ago".
export function fmtAgo(iso, now = Date.now()) {
    if (!iso) return '—';
    const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
}

// Date.now(), re-rendering the component every intervalMs (timers and countdowns).
export function useNow(intervalMs = 1000) {
    const [now, setNow] = useState(Date.now());
    useEffect(() => {
        const t = setInterval(() => setNow(Date.now()), intervalMs);
        return () => clearInterval(t);
    }, [intervalMs]);
    return now;
}

// A role or outcome name as people read it: "senior_manager" -> "senior manager".
export function words(name) {
    return name ? String(name).replace(/_/g, ' ') : '—';
}
