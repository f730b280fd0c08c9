// Signing in, and setting one's own password after a one-time one.
import { html, useState } from '../html.js';
import { errorText } from '../api.js';
import { knowsOneTimePassword, login, logout, setOwnPassword } from '../session.js';

function Field({ id, label, ...input }) {
    return html`<div class="field">
        <label for=${id}>${label}</label>
        <input id=${id} name=${id} ...${input} />
    </div>`;
}

// Runs submit(), showing its error; returns [busy, error, run].
function useSubmit(submit) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    async function run(e) {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
            await submit(e.target);
        } catch (err) {
            setError(errorText(err));
            setBusy(false);
        }
    }
    return [busy, error, run];
}

export function LoginPage({ expired }) {
    const [busy, error, onSubmit] = useSubmit((form) =>
        login(form.elements.username.value.trim(), form.elements.password.value));
    return html`<main id="main" class="centre">
        <form class="card login" onSubmit=${onSubmit}>
            <h1>notalone</h1>
            ${expired && !error && html`<p role="alert" class="notice">Your session has expired. Sign in again.</p>`}
            ${error && html`<p role="alert" class="error">${error}</p>`}
            <${Field} id="username" label="Username" autocomplete="username" required autofocus
                autocapitalize="none" spellcheck="false" maxlength="64" />
            <${Field} id="password" label="Password" type="password" autocomplete="current-password"
                required maxlength="1024" />
            <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
        </form>
    </main>`;
}

export function PasswordPage() {
    const needCurrent = !knowsOneTimePassword();
    const [busy, error, onSubmit] = useSubmit(async (form) => {
        const next = form.elements.new_password.value;
        if (next !== form.elements.repeat_password.value)
            throw new Error('The two new passwords differ.');
        await setOwnPassword(next, needCurrent ? form.elements.current_password.value : undefined);
    });
    return html`<main id="main" class="centre">
        <form class="card login" onSubmit=${onSubmit}>
            <h1>Choose your password</h1>
            <p>You signed in with a one-time password. Choose your own (at least 10 characters)
               before you go on.</p>
            ${error && html`<p role="alert" class="error">${error}</p>`}
            ${needCurrent && html`<${Field} id="current_password" label="One-time password" type="password"
                autocomplete="current-password" required />`}
            <${Field} id="new_password" label="New password" type="password" autocomplete="new-password"
                required minlength="10" maxlength="256" />
            <${Field} id="repeat_password" label="Repeat new password" type="password"
                autocomplete="new-password" required minlength="10" maxlength="256" />
            <button type="submit" disabled=${busy}>Set password</button>
            <button type="button" class="link" onClick=${() => logout()}>Sign out</button>
        </form>
    </main>`;
}
