// The submit form's values (one string per API field path) and the job spec built from them.
// The API validates the spec (the same schema as the CLI's); its 400 names the field.
export type Values = Record<string, string>;

export const DEFAULTS: Values = {
  type: 'train',
  priority: '0',
  'params.m': '256',
  'params.n': '256',
  'params.k': '256',
  'params.repeats': '3',
  'params.seed': '1',
  source: 'task',
  'params.data.task.kind': 'sort',
  'params.data.task.length': '4',
  'params.data.seqLen': '32',
  'params.model.layers': '1',
  'params.model.dModel': '32',
  'params.model.heads': '2',
  'params.model.dFF': '64',
  'params.steps': '200',
  'params.batchSize': '16',
  'params.schedule.lr': '0.01',
  'params.schedule.warmupSteps': '3',
  'params.evalEvery': '25',
  'params.evalExamples': '64',
  'params.checkpointEvery': '50',
  'params.checkpoint.job': '',
  'params.prompts': '3142=\n9070=',
  'params.maxNewTokens': '5',
};

/** A number field: empty is left out (the API then names it, if required); anything else as typed. */
const n = (s: string | undefined): number | undefined => (s === undefined || s.trim() === '' ? undefined : Number(s));

/** Tokens of a task's training sequence: prompt, '=', answer, '.', less one (inputs predict the next token). */
export function taskSeqLen(kind: string, length: number): number {
  return kind === 'add' ? 2 * length + 1 + 1 + length + 1 + 1 - 1 : 2 * length + 2 - 1;
}

/** The task vocabulary: ten digits, '+', '=', '.'. */
export const TASK_VOCAB = 13;

export function buildSpec(v: Values, upload?: { artifact: string; vocabSize: number }): unknown {
  const common = { priority: n(v.priority) };
  if (v.type === 'matmul') {
    return {
      type: 'matmul',
      params: {
        m: n(v['params.m']),
        n: n(v['params.n']),
        k: n(v['params.k']),
        seed: n(v['params.seed']),
        repeats: n(v['params.repeats']),
      },
      ...common,
    };
  }
  if (v.type === 'infer') {
    return {
      type: 'infer',
      params: {
        checkpoint: { job: v['params.checkpoint.job'].trim() },
        prompts: v['params.prompts'].split('\n').filter((l) => l !== ''),
        maxNewTokens: n(v['params.maxNewTokens']),
      },
      ...common,
    };
  }
  const text = v.source === 'text';
  const length = n(v['params.data.task.length']) ?? 0;
  const seqLen = text ? n(v['params.data.seqLen']) : taskSeqLen(v['params.data.task.kind'], length);
  return {
    type: 'train',
    params: {
      model: {
        vocabSize: text ? (upload?.vocabSize ?? 2) : TASK_VOCAB,
        contextLength: seqLen,
        layers: n(v['params.model.layers']),
        dModel: n(v['params.model.dModel']),
        heads: n(v['params.model.heads']),
        dFF: n(v['params.model.dFF']),
      },
      data: text
        ? { source: 'text', artifact: upload?.artifact ?? '', seqLen }
        : { source: 'task', task: { kind: v['params.data.task.kind'], length } },
      steps: n(v['params.steps']),
      batchSize: n(v['params.batchSize']),
      schedule: { lr: n(v['params.schedule.lr']), warmupSteps: n(v['params.schedule.warmupSteps']) },
      seed: n(v['params.seed']),
      evalEvery: n(v['params.evalEvery']),
      evalExamples: n(v['params.evalExamples']),
      checkpointEvery: n(v['params.checkpointEvery']),
    },
    ...common,
  };
}

/** The demo of `usine demo`: sort 8 digits (≈ 99 % held-out exact match by step 250), then answer prompts. */
export function demoSpecs(): { train: unknown; prompts: string[] } {
  const steps = 250;
  const train = {
    type: 'train',
    params: {
      model: { vocabSize: TASK_VOCAB, contextLength: taskSeqLen('sort', 8), layers: 2, dModel: 64, heads: 4, dFF: 256 },
      data: { source: 'task', task: { kind: 'sort', length: 8 } },
      steps,
      batchSize: 64,
      schedule: { lr: 3e-3, warmupSteps: 25 },
      seed: 1,
      evalEvery: 40,
      evalExamples: 256,
      checkpointEvery: 50,
    },
  };
  const prompts = Array.from(
    { length: 8 },
    () => Array.from({ length: 8 }, () => Math.floor(Math.random() * 10)).join('') + '=',
  );
  return { train, prompts };
}

/** The form field an API error names: the longest field path that is a prefix of it. */
export function fieldOf(apiField: string, fields: string[]): string | undefined {
  let best: string | undefined;
  for (const f of fields) {
    if ((apiField === f || apiField.startsWith(f + '.')) && (!best || f.length > best.length)) best = f;
  }
  return best;
}
