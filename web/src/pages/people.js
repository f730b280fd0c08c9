// People, for administrators: users (new, edit, disable, password reset) and teams (new,
// rename, line manager, members, delete). Names and teams come from the shared directory,
// read again after every change so that the other pages see it too.
import '../styles/pages.css';
import { html, useState } from '../html.js';
import { errorText } from '../api.js';
import { byName, useDirectory } from '../out/directory.js';
import { EditUser, NewUserForm, UsersTable } from '../admin/users.js';
import { EditTeam, NewTeamForm, TeamsTable } from '../admin/teams.js';
import { OneTimePassword } from '../admin/one_time.js';

function Users({ dir }) {
    const [mode, setMode] = useState(null); // null | 'new' | user id being edited
    const [otp, setOtp] = useState(null);
    const users = [...dir.users.values()].sort(byName);
    function showPassword(user, password) {
        setMode(null);
        setOtp({ user, password });
    }
    return html`<section aria-labelledby="people-users">
        <div class="people-head">
            <h2 id="people-users">Users</h2>
            <button type="button" aria-expanded=${mode === 'new'} onClick=${() => { setOtp(null); setMode(mode === 'new' ? null : 'new'); }}>New user</button>
        </div>
        ${otp && html`<${OneTimePassword} user=${otp.user} password=${otp.password} onDone=${() => setOtp(null)} />`}
        ${mode === 'new' && html`<${NewUserForm} dir=${dir} onCreated=${showPassword} onCancel=${() => setMode(null)} />`}
        ${typeof mode === 'number' && html`<${EditUser} key=${mode} userId=${mode} dir=${dir}
            onClose=${() => setMode(null)} onPassword=${showPassword} />`}
        <${UsersTable} users=${users} dir=${dir} onEdit=${(id) => { setOtp(null); setMode(id); }} />
    </section>`;
}

function Teams({ dir }) {
    const [mode, setMode] = useState(null); // null | 'new' | team id being edited
    const [done, setDone] = useState(null);
    return html`<section aria-labelledby="people-teams">
        <div class="people-head">
            <h2 id="people-teams">Teams</h2>
            <button type="button" aria-expanded=${mode === 'new'} onClick=${() => setMode(mode === 'new' ? null : 'new')}>New team</button>
        </div>
        ${done && html`<p role="status" class="ok">${done}</p>`}
        ${mode === 'new' && html`<${NewTeamForm} dir=${dir} onDone=${(team) => {
            setMode(null);
            setDone(team ? `Team ${team.name} created.` : null);
        }} />`}
        ${typeof mode === 'number' && html`<${EditTeam} key=${mode} teamId=${mode} dir=${dir} onClose=${(message) => {
            setMode(null);
            setDone(message);
        }} />`}
        ${dir.teams.length === 0 ? html`<p class="muted">No teams yet.</p>`
            : html`<${TeamsTable} dir=${dir} onEdit=${(id) => { setDone(null); setMode(id); }} />`}
    </section>`;
}

export default function PeoplePage() {
    const dir = useDirectory({ force: true });
    return html`<section class="people">
        <h1 tabindex="-1">People</h1>
        ${dir.error && html`<p role="alert" class="error">${errorText(dir.error)}</p>`}
        ${!dir.loadedAt && !dir.error && html`<p role="status">Loading…</p>`}
        ${dir.loadedAt > 0 && html`<${Users} dir=${dir} /><${Teams} dir=${dir} />`}
    </section>`;
}
