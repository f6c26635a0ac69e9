import type { ResponseType } from "../model/rotation.js";

/** How one operator response reads everywhere: a chat button, a shell prompt, an audit line, a settled card. */
export interface ResponseWords {
  /** The chat button's label. */
  button: string;
  /** What the shell accepts (the first is shown as the choice). */
  shell: readonly string[];
  /** The choice as the shell lists it. */
  shellLabel: string;
  /** The audit line's words: "<step>: <audit> by <actor>". */
  audit: string;
  /** What a settled prompt card says was answered, followed by " by <actor>": "✅ Confirmed by @alice". */
  settled: string;
}

/** The one vocabulary of operator responses, shared by chat buttons, shell prompts and audit lines. */
export const RESPONSES = {
  go: { button: "✅ Confirm", shell: ["yes"], shellLabel: "yes", audit: "confirmed", settled: "✅ Confirmed" },
  cancel: {
    button: "✖️ Cancel rotation",
    shell: ["cancel", "c", "no", "n"],
    shellLabel: "[c]ancel",
    audit: "cancelled",
    settled: "✖️ Rotation cancelled",
  },
  collect: {
    button: "Send the value",
    shell: [],
    shellLabel: "paste the value",
    audit: "token received",
    settled: "🔑 Value sent",
  },
  added_myself: {
    button: "I added it to the vault myself",
    shell: ["added"],
    shellLabel: "added",
    audit: "added to the vault by hand",
    settled: "🔑 Marked as added to the vault",
  },
  another_value: {
    button: "🔑 Send another value",
    shell: ["v", "another"],
    shellLabel: "send another [v]alue",
    audit: "asked to send another value",
    settled: "🔑 Another value asked for",
  },
  done: { button: "✅ Done", shell: ["done"], shellLabel: "done", audit: "marked done", settled: "✅ Done" },
  retry: { button: "🔁 Retry", shell: ["r", "retry"], shellLabel: "[r]etry", audit: "retry", settled: "🔁 Retried" },
  mark_done: {
    button: "☑️ Mark done",
    shell: ["m", "mark done"],
    shellLabel: "[m]ark done",
    audit: "marked done",
    settled: "☑️ Marked done",
  },
  abort: { button: "⏹ Abort", shell: ["a", "abort"], shellLabel: "[a]bort", audit: "abort", settled: "⏹ Aborted" },
  reuse_new: {
    button: "♻️ Reuse it",
    shell: ["u", "reuse"],
    shellLabel: "re[u]se",
    audit: "reuse the existing _new",
    settled: "♻️ Earlier _new reused",
  },
  replace_new: {
    button: "🆕 Replace it",
    shell: ["p", "replace"],
    shellLabel: "re[p]lace",
    audit: "replace the existing _new",
    settled: "🆕 Earlier _new replaced",
  },
} as const satisfies Record<ResponseType, ResponseWords>;

/** The response a shell answer stands for, among those a prompt accepts. */
export function responseForShellAnswer(answer: string, accepts: readonly ResponseType[]): ResponseType | undefined {
  const typed = answer.trim().toLowerCase();
  return accepts.find((type) => (RESPONSES[type].shell as readonly string[]).includes(typed));
}
