/** The commands rotabot offers, in menu order; `setMyCommands` and /help both read this list. */
export const COMMAND_MENU = [
  {
    command: "rotate",
    description:
      "Rotate a secret: /rotate telegram, /rotate alone to pick one, /rotate due for every due secret (plan first)",
  },
  { command: "plan", description: "A rotation's steps and exact commands, without starting it: /plan nats" },
  { command: "status", description: "Rotations in flight and what they wait for" },
  { command: "cancel", description: "Cancel your rotation (before its point of no return)" },
  { command: "resume", description: "Continue an interrupted rotation" },
  { command: "history", description: "Recent rotations" },
  { command: "timeline", description: "A rotation's timeline for a post-mortem: /timeline <rotation id>" },
  { command: "age", description: "Secret ages: what is due or overdue (/age overdue)" },
  { command: "help", description: "What rotabot does and how to use it" },
] as const satisfies readonly { command: string; description: string }[];
