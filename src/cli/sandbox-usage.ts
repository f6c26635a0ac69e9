/** `rotabot sandbox --help`, apart from the command so that `rotabot --help` does not load the sandbox. */
export const SANDBOX_USAGE =
  "Usage: rotabot sandbox [--port N]   (staging in a box with a web chat on http://127.0.0.1:N, default 8080; Ctrl-C stops and removes it)";
