// The token, entered once and kept in this browser (localStorage). Open mode needs none.
import { useState } from 'preact/hooks';

export function TokenPage(p: { token: string; onSave: (t: string) => void; asked: boolean }) {
  const [value, setValue] = useState(p.token);
  return (
    <>
      <h1>API token</h1>
      {p.asked && (
        <p class="error" role="alert">
          The scheduler wants a token{p.token ? ': the one kept here was refused' : ''}.
        </p>
      )}
      <p class="muted">
        The same token as the CLI's (<code>usine --token</code> or <code>USINE_TOKEN</code>). It is kept in this
        browser's storage and sent only to this scheduler. A scheduler in open mode needs none.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          p.onSave(value.trim());
          location.hash = '#/jobs';
        }}
      >
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit">Save</button>
        {p.token && (
          <button type="button" class="secondary" onClick={() => (setValue(''), p.onSave(''))}>
            Forget
          </button>
        )}
      </form>
    </>
  );
}
