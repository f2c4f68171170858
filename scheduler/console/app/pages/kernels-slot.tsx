// The nav slot of the Kernels page (benchmarks on the visitor's own GPU): the lead replaces
// this with `KernelsPage` from ../kernels/page.tsx when that work is merged.
export function KernelsSlot() {
  return (
    <>
      <h1>Kernels</h1>
      <p class="muted">The in-browser kernel benchmarks are not part of this build yet.</p>
    </>
  );
}
