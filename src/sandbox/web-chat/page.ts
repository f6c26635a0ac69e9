/** The sandbox's single page: plain DOM, every text set through textContent. */
export const WEB_CHAT_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rotabot sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: #e6ebee; color: #1b1f23; }
  header { padding: 10px 16px; background: #2b5278; color: #fff; }
  header h1 { font-size: 17px; margin: 0 0 2px; }
  header p { margin: 0; opacity: .9; }
  main { display: grid; grid-template-columns: repeat(3, minmax(280px, 1fr)) minmax(260px, .8fr); gap: 10px; padding: 10px; height: calc(100vh - 62px); }
  section { display: flex; flex-direction: column; background: #fff; border-radius: 8px; overflow: hidden; min-height: 0; }
  section h2 { font-size: 14px; margin: 0; padding: 8px 12px; background: #f3f5f7; border-bottom: 1px solid #dde3e8; }
  .messages { flex: 1; overflow-y: auto; padding: 8px; }
  .msg { margin: 6px 0; padding: 6px 9px; border-radius: 8px; background: #f1f6fa; max-width: 95%; white-space: pre-wrap; word-wrap: break-word; }
  .msg.mine { background: #dcf8c6; margin-left: auto; }
  .msg.deleted { opacity: .5; font-style: italic; }
  .msg a.document { display: block; margin-top: 4px; }
  .from { font-size: 12px; font-weight: 600; color: #2b5278; }
  .edited { font-size: 11px; color: #777; }
  .keyboard { display: flex; flex-direction: column; gap: 4px; margin-top: 6px; }
  .row { display: flex; gap: 4px; }
  button { font: inherit; cursor: pointer; border: 1px solid #9fb4c7; background: #fff; border-radius: 6px; padding: 4px 8px; }
  button:hover { background: #eef4f9; }
  .row button { flex: 1; }
  form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #dde3e8; }
  form input { flex: 1; font: inherit; padding: 6px 8px; border: 1px solid #c5d0da; border-radius: 6px; }
  .panel { padding: 8px 12px; border-bottom: 1px solid #eef1f4; }
  .panel h3 { margin: 0 0 6px; font-size: 13px; }
  .tokens button { margin: 2px 4px 2px 0; }
  .notes .msg { background: #fff8e1; }
  #toast { position: fixed; bottom: 16px; left: 50%; transform: translateX(-50%); background: #333; color: #fff; padding: 8px 14px; border-radius: 6px; display: none; max-width: 70%; }
</style>
</head>
<body>
<header>
  <h1>rotabot sandbox</h1>
  <p>You are <b>Alice</b>, an operator. Try <code>/age</code> or <code>/rotate telegram</code> in Akira Ops; rotabot rotates real PostgreSQL and NATS credentials on this machine.</p>
</header>
<main id="main">
  <section id="outside">
    <h2>Outside Telegram</h2>
    <div class="panel"><h3>BotFather (@akira_alerts_bot)</h3>
      <button data-action="/api/botfather/token">/revoke: new token (the current one stops working)</button>
      <div class="tokens" data-list="botfather"></div></div>
    <div class="panel"><h3>SignalWire dashboard</h3>
      <button data-action="/api/signalwire/token">Create a Personal Access Token</button>
      <div class="tokens" data-list="signalwire" data-revoke="/api/signalwire/revoke" data-verb="Revoke"></div></div>
    <div class="panel"><h3>Sentry: project 4507, client keys</h3>
      <button data-action="/api/sentry/dsn">Generate a new DSN</button>
      <div class="tokens" data-list="sentry" data-revoke="/api/sentry/disable" data-verb="Disable"></div></div>
    <div class="messages notes" id="notes"></div>
  </section>
</main>
<div id="toast"></div>
<script>
const main = document.getElementById("main");
const outside = document.getElementById("outside");
const columns = new Map();
let version = -1;
let lastNotice = 0;

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  const result = await response.json();
  if (!response.ok) toast(result.error || "failed");
  refresh();
  return result;
}

function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.style.display = "block";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.style.display = "none"), 5000);
}

function column(chat) {
  if (columns.has(chat.id)) return columns.get(chat.id);
  const section = document.createElement("section");
  section.dataset.chat = chat.id;
  const title = document.createElement("h2");
  title.textContent = chat.title;
  const list = document.createElement("div");
  list.className = "messages";
  section.append(title, list);
  if (chat.canSend) {
    const form = document.createElement("form");
    const input = document.createElement("input");
    input.placeholder = "Message";
    input.autocomplete = "off";
    const send = document.createElement("button");
    send.textContent = "Send";
    form.append(input, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      post("/api/send", { chatId: chat.id, text });
    });
    section.append(form);
  }
  main.insertBefore(section, outside);
  columns.set(chat.id, list);
  return list;
}

function renderMessage(chatId, m) {
  const el = document.createElement("div");
  el.className = "msg" + (m.mine ? " mine" : "") + (m.deleted ? " deleted" : "");
  el.dataset.message = m.id;
  const from = document.createElement("div");
  from.className = "from";
  from.textContent = m.from;
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = m.text;
  el.append(from, text);
  if (m.document) {
    const link = document.createElement("a");
    link.className = "document";
    link.href = m.document.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "📎 Open " + m.document.name;
    el.append(link);
  }
  if (m.edited) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = "edited";
    el.append(edited);
  }
  if (m.buttons.length && !m.deleted) {
    const keyboard = document.createElement("div");
    keyboard.className = "keyboard";
    for (const row of m.buttons) {
      const r = document.createElement("div");
      r.className = "row";
      for (const b of row) {
        const button = document.createElement("button");
        button.textContent = b.text;
        button.dataset.callback = b.data;
        button.addEventListener("click", () => post("/api/press", { chatId, messageId: m.id, data: b.data }));
        r.append(button);
      }
      keyboard.append(r);
    }
    el.append(keyboard);
  }
  return el;
}

function render(state) {
  for (const chat of state.chats) {
    const list = column(chat);
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
    list.replaceChildren(...chat.messages.map((m) => renderMessage(chat.id, m)));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
  const notes = document.getElementById("notes");
  notes.replaceChildren(...state.outside.map((n) => {
    const el = document.createElement("div");
    el.className = "msg";
    el.textContent = n.from + ": " + n.text;
    return el;
  }));
  notes.scrollTop = notes.scrollHeight;
  for (const list of document.querySelectorAll("[data-list]")) {
    list.replaceChildren(...state.tokens[list.dataset.list].map((end) => {
      if (!list.dataset.revoke) {
        const current = document.createElement("span");
        current.textContent = "current token …" + end;
        return current;
      }
      const button = document.createElement("button");
      button.textContent = list.dataset.verb + " …" + end;
      button.addEventListener("click", () => post(list.dataset.revoke, { ending: end }));
      return button;
    }));
  }
  for (const notice of state.notices) if (notice.at > lastNotice) { lastNotice = notice.at; toast(notice.text); }
}

async function refresh() {
  try {
    const state = await (await fetch("/api/state")).json();
    if (state.version === version) return;
    version = state.version;
    render(state);
  } catch {
    toast("the sandbox stopped");
  }
}

for (const button of document.querySelectorAll("[data-action]")) button.addEventListener("click", () => post(button.dataset.action));
setInterval(refresh, 700);
refresh();
</script>
</body>
</html>
`;
