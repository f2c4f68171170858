// The kernels' errors. An InputError says the caller's input is wrong (a shape, a size, a
// file): the same call fails the same way again, so a job that throws one is not retried.
// Callers classify by class (`instanceof InputError`), never by name or message.
export class InputError extends Error {
  override name = 'InputError';
}

/** A shape or option a kernel cannot run: bad sizes, or beyond this device's limits. */
export class ShapeError extends InputError {
  override name = 'ShapeError';
}
