// Submit: matmul, train (a built-in task or an uploaded text), infer from a train job; the
// API's 400 shown next to the field it names; "Run the demo" in one click.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { go } from '../router.ts';
import type { Session } from '../session.ts';
import { buildSpec, DEFAULTS, demoSpecs, fieldOf, type Values } from './submit-spec.ts';

type Errors = Record<string, string>;

export function SubmitPage({ session, query }: { session: Session; query: URLSearchParams }) {
  const [v, setV] = useState<Values>(() => ({
    ...DEFAULTS,
    ...(query.get('type') ? { type: query.get('type')! } : {}),
    ...(query.get('job') ? { 'params.checkpoint.job': query.get('job')! } : {}),
  }));
  const [file, setFile] = useState<File | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [tenant, setTenant] = useState(session.tenants[0]?.name ?? '');
  // An operator acts for a tenant it names (?tenant=); a tenant token for itself.
  const suffix = session.admin && tenant ? `?tenant=${encodeURIComponent(tenant)}` : '';
  const fields: string[] = [];

  const field = (path: string, label: string, input: ComponentChildren | 'number' | 'text', hint?: string) => {
    fields.push(path);
    const id = `f-${path}`;
    const err = errors[path];
    return (
      <div class={`field${err ? ' invalid' : ''}`} key={path}>
        <label for={id}>{label}</label>
        {typeof input === 'string' ? (
          <input
            id={id}
            name={path}
            type={input}
            step="any"
            value={v[path]}
            aria-invalid={err ? 'true' : undefined}
            aria-describedby={err ? `${id}-err` : undefined}
            onInput={(e) => setV({ ...v, [path]: e.currentTarget.value })}
          />
        ) : (
          input
        )}
        {hint && !err && <small class="muted">{hint}</small>}
        {err && (
          <small class="field-error" id={`${id}-err`} role="alert">
            {err}
          </small>
        )}
      </div>
    );
  };
  const select = (path: string, options: string[]) => (
    <select
      id={`f-${path}`}
      name={path}
      value={v[path]}
      onChange={(e) => setV({ ...v, [path]: e.currentTarget.value })}
    >
      {options.map((o) => (
        <option key={o}>{o}</option>
      ))}
    </select>
  );

  /** Puts each API error next to its field; the rest above the form. */
  const showError = (e: unknown) => {
    const next: Errors = {};
    if (e instanceof ApiError && e.details?.length) {
      const rest: string[] = [];
      for (const d of e.details) {
        const f = fieldOf(d.field, fields);
        if (f) next[f] = next[f] ? `${next[f]}; ${d.reason}` : d.reason;
        else rest.push(`${d.field}: ${d.reason}`);
      }
      if (rest.length) next._form = rest.join('; ');
    } else next._form = (e as Error).message;
    setErrors(next);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      let upload;
      if (v.type === 'train' && v.source === 'text') {
        if (!file)
          throw new ApiError(400, 'invalid_spec', 'choose a text file', [
            { field: 'params.data.artifact', reason: 'choose a UTF-8 text file to train on' },
          ]);
        const text = await file.text();
        const meta = await api<{ id: string }>(
          'POST',
          `/v1/artifacts?name=${encodeURIComponent(file.name)}${suffix ? '&' + suffix.slice(1) : ''}`,
          file,
        );
        upload = { artifact: meta.id, vocabSize: Math.max(2, new Set(text).size) };
      }
      const r = await api<{ id: string }>('POST', `/v1/jobs${suffix}`, buildSpec(v, upload));
      go(`#/jobs/${encodeURIComponent(r.id)}`);
    } catch (err) {
      showError(err);
    } finally {
      setBusy(false);
    }
  };

  const demo = async () => {
    setBusy(true);
    setErrors({});
    try {
      const d = demoSpecs();
      const t = await api<{ id: string }>('POST', `/v1/jobs${suffix}`, d.train);
      const i = await api<{ id: string }>('POST', `/v1/jobs${suffix}`, {
        type: 'infer',
        params: { checkpoint: { job: t.id }, prompts: d.prompts, maxNewTokens: 9 },
      });
      go(`#/jobs/${encodeURIComponent(t.id)}?then=${encodeURIComponent(i.id)}`);
    } catch (err) {
      showError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Submit a job</h1>
      <p>
        <button type="button" onClick={demo} disabled={busy}>
          Run the demo
        </button>{' '}
        <span class="muted">
          trains a small transformer to sort 8 digits (250 steps), then answers 8 prompts with it — as{' '}
          <code>usine demo</code>.
        </span>
      </p>
      <form class="submit" onSubmit={submit} noValidate>
        {errors._form && (
          <p class="error" role="alert">
            {errors._form}
          </p>
        )}
        {session.admin && session.tenants.length > 0 && (
          <div class="field">
            <label for="f-tenant">For tenant</label>
            <select id="f-tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value)}>
              {session.tenants.map((t) => (
                <option key={t.name}>{t.name}</option>
              ))}
            </select>
          </div>
        )}
        {field('type', 'Job type', select('type', ['train', 'infer', 'matmul']))}
        {v.type === 'matmul' && (
          <fieldset>
            <legend>C = A·B with A m×k and B k×n, random in [-1, 1)</legend>
            {field('params.m', 'm', 'number')}
            {field('params.n', 'n', 'number')}
            {field('params.k', 'k', 'number')}
            {field('params.repeats', 'Repeats', 'number', 'the result reports the median')}
            {field('params.seed', 'Seed', 'number')}
          </fieldset>
        )}
        {v.type === 'train' && (
          <>
            <fieldset>
              <legend>Data</legend>
              {field('source', 'Source', select('source', ['task', 'text']))}
              {v.source === 'task' &&
                field('params.data.task.kind', 'Task', select('params.data.task.kind', ['sort', 'reverse', 'add']))}
              {v.source === 'task' && field('params.data.task.length', 'Digits', 'number')}
              {v.source === 'text' &&
                field(
                  'params.data.artifact',
                  'Text file',
                  <input
                    id="f-params.data.artifact"
                    name="file"
                    type="file"
                    accept=".txt,text/plain"
                    onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
                  />,
                  'character-level; the last 10 % is held out',
                )}
              {v.source === 'text' && field('params.data.seqLen', 'Sequence length', 'number')}
            </fieldset>
            <fieldset>
              <legend>Model</legend>
              {field('params.model.layers', 'Layers', 'number')}
              {field('params.model.dModel', 'Width (dModel)', 'number')}
              {field('params.model.heads', 'Heads', 'number', 'must divide the width')}
              {field('params.model.dFF', 'MLP width (dFF)', 'number')}
            </fieldset>
            <fieldset>
              <legend>Training</legend>
              {field('params.steps', 'Steps', 'number')}
              {field('params.batchSize', 'Batch size', 'number')}
              {field('params.schedule.lr', 'Learning rate', 'number')}
              {field('params.schedule.warmupSteps', 'Warm-up steps', 'number')}
              {field('params.evalEvery', 'Evaluate every', 'number', 'steps; 0: only at the end')}
              {field('params.evalExamples', 'Held-out examples', 'number')}
              {field('params.checkpointEvery', 'Checkpoint every', 'number', 'steps; 0: only at the end')}
              {field('params.seed', 'Seed', 'number')}
            </fieldset>
          </>
        )}
        {v.type === 'infer' && (
          <fieldset>
            <legend>Answer prompts with a train job's final checkpoint</legend>
            {field('params.checkpoint.job', 'Train job id', 'text', 'it may still be running: this job waits for it')}
            {field(
              'params.prompts',
              'Prompts, one a line',
              <textarea
                id="f-params.prompts"
                name="params.prompts"
                rows={5}
                value={v['params.prompts']}
                onInput={(e) => setV({ ...v, 'params.prompts': e.currentTarget.value })}
              />,
            )}
            {field('params.maxNewTokens', 'New tokens per answer', 'number')}
          </fieldset>
        )}
        {field('priority', 'Priority', 'number', '0–1000, higher runs first among your jobs')}
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Submit'}
        </button>
      </form>
    </>
  );
}
