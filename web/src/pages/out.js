// Who is out: the whiteboard of §6.17.2, live. Every active visit the reader may see, with
// its deadline counting down; a visit past its deadline or with an open case goes to the
// top in red and stays there until the visit is closed (§6.17.3).
import '../styles/pages.css';
import { html, useEffect, useState } from '../html.js';
import { apiList, errorText } from '../api.js';
import { useSession } from '../session.js';
import { useEvents } from '../stream.js';
import { fmtTime, useNow } from '../format.js';
import { teamsManagedBy, useDirectory } from '../out/directory.js';
import { noteEventTime, noteRecordTime, serverNow } from '../out/server_clock.js';
import { useReload } from '../out/reload.js';
import { loadCases } from '../out/cases.js';
import { PlannedTable, VisitTable, isOverdue, lateStarters } from '../out/visit_table.js';

// Roles that see every team's visits, for whom a team filter makes sense.
const ALL_TEAMS_ROLES = ['senior_manager', 'operator', 'admin'];

function filterTeams(session, dir) {
    if (session.has(...ALL_TEAMS_ROLES)) return dir.teams;
    return teamsManagedBy(dir, session.user.id);
}

function TeamFilter({ teams, value, onChange }) {
    return html`<div class="field out-filter">
        <label for="out-team">Team</label>
        <select id="out-team" value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
            <option value="">All teams I see</option>
            ${teams.map((t) => html`<option key=${t.id} value=${String(t.id)}>${t.name}</option>`)}
        </select>
    </div>`;
}

async function readBoard(teamId) {
    const q = teamId ? `&team_id=${encodeURIComponent(teamId)}` : '';
    const [active, planned] = await Promise.all([
        apiList(`/api/v1/visits?state=active${q}`, { max: 5000 }),
        apiList(`/api/v1/visits?state=planned${q}`, { max: 5000 }),
    ]);
    for (const v of [...active, ...planned]) noteRecordTime(v.updated_at);
    const now = serverNow();
    const cases = await loadCases(active, (v) => isOverdue(v, now));
    for (const esc of cases.values()) for (const s of esc.steps || []) noteRecordTime(s.at);
    return { active, planned, cases, readAt: Date.now() };
}

function Summary({ board, now }) {
    const overdue = board.active.filter((v) => isOverdue(v, now)).length;
    return html`<p class="out-summary">
        <strong>${board.active.length}</strong> out${overdue > 0 && html`, <strong class="out-late">${overdue} overdue</strong>`}.
        <span class="muted"> Updated ${fmtTime(new Date(serverNow(board.readAt)).toISOString(), { seconds: true })}.</span>
    </p>`;
}

export default function OutPage() {
    const session = useSession();
    const dir = useDirectory();
    const [teamId, setTeamId] = useState('');
    const [board, setBoard] = useState(null);
    const [error, setError] = useState(null);
    const now = serverNow(useNow(1000));

    const reload = useReload(async (isCurrent) => {
        try {
            const next = await readBoard(teamId);
            if (!isCurrent()) return;
            setBoard(next);
            setError(null);
        } catch (err) {
            if (isCurrent()) setError(errorText(err));
        }
    });
    useEffect(() => {
        reload();
    }, [teamId]);
    useEvents((e) => {
        if (e.at) noteEventTime(e.at);
        if (e.kind === 'stream.resync' || e.kind.startsWith('visit.') || e.kind.startsWith('escalation.')) reload();
    });

    const teams = filterTeams(session, dir);
    const late = board ? lateStarters(board.planned, now) : [];
    return html`<section class="out">
        <h1 tabindex="-1">Who is out</h1>
        ${teams.length > 1 && html`<${TeamFilter} teams=${teams} value=${teamId} onChange=${setTeamId} />`}
        ${error && html`<p role="alert" class="error">${board ? `The list may be out of date: ${error}` : error}</p>`}
        ${dir.error && html`<p role="alert" class="error">Names could not be read: ${errorText(dir.error)}</p>`}
        ${!board && !error && html`<p role="status">Loading…</p>`}
        ${board && html`<${Summary} board=${board} now=${now} />`}
        ${board && board.active.length === 0 && html`<p class="out-empty">Nobody is out.</p>`}
        ${board && board.active.length > 0 && html`<${VisitTable} visits=${board.active} cases=${board.cases}
            dir=${dir} session=${session} now=${now} onDone=${reload} />`}
        ${late.length > 0 && html`<h2>Planned, not started</h2>
            <p class="hint">Planned for today, more than 15 minutes past the expected arrival.</p>
            <${PlannedTable} visits=${late} dir=${dir} now=${now} />`}
    </section>`;
}
