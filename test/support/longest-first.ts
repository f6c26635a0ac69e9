import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that take minutes (real ansible runs on the box, the install role), longest first, as
 * measured in `npm test` on 2 cores. Vitest orders by the durations of the last run it cached; a
 * fresh clone (CI) has none and would start them by file size, late enough that the run waits for
 * the last of them alone. A file missing here only loses its place in the queue.
 */
const LONGEST = [
  "e2e/install-playbook",
  "e2e/staging-box",
  "e2e/compromise-box",
  "e2e/staging-production-box",
  "e2e/preflight",
  "e2e/chat-walkthrough",
  "e2e/sandbox-shell",
  "e2e/rotate-shell",
  "e2e/sandbox-browser",
  "e2e/crash-rotate",
  "e2e/chat-resilience",
  "e2e/doctor-command",
  "integration/vault",
];

const rank = (spec: TestSpecification): number => {
  const i = LONGEST.findIndex((name) => spec.moduleId.endsWith(`/test/${name}.test.ts`));
  return i === -1 ? LONGEST.length : i;
};

/** Vitest's order (cached durations, failed first), with the known long files ahead of everything, in every project. */
export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
