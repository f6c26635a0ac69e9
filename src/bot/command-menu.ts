/** The commands rotabot offers, in menu order; `setMyCommands` and /help both read this list. */
export const COMMAND_MENU = [
  { command: "age", description: "Secret ages: what is due or overdue (/age overdue)" },
  { command: "help", description: "What rotabot does and how to use it" },
] as const satisfies readonly { command: string; description: string }[];
