// The playground page: chat with the real bot as any staff member. Plain ES2020, no build step.
// Everything the bot or a person wrote is put on the page as text nodes (never innerHTML);
// formatting comes from the message's entities, as a Telegram client draws it.
"use strict";

const API = "api/";
const NARROW = window.matchMedia("(max-width: 720px)");
const SAFE_LINK = /^https?:\/\//i;

const state = {
  strings: {},
  people: new Map(), // id → {id, name, roles, language, unread}
  chats: new Map(), // id → open chat (see openChat)
  order: [], // open chat ids, oldest first
  events: null,
  tour: [], // the guided tour's steps: {person, text}
  tourAt: 0,
  tourPerson: null, // the person the tour's step highlights
};

// --- small helpers -------------------------------------------------------------------------

function t(key, values = {}) {
  const text = state.strings[key] || key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "testid") node.dataset.testid = value;
    else if (name === "s") node.dataset.s = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const ICONS = {
  attach: "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5",
  file: "M6 2h8l6 6v14H6z M14 2v6h6",
  send: "M3 20l18-8L3 4v6l12 2-12 2z",
};

// A line icon drawn with SVG (no icon font or emoji font needed).
function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("svg-icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function label(key) {
  return el("span", { s: key }, t(key));
}

class PageError extends Error {
  constructor(key, message) {
    super(message);
    this.key = key;
  }
}

async function api(path, options = {}) {
  const response = await fetch(API + path, options);
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    throw new PageError("bad_request", `${response.status}`);
  }
  if (!response.ok) throw new PageError(body.error || "bad_request", body.message || "");
  return body;
}

function postJson(path, data) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
}

function clock(seconds) {
  const at = new Date(seconds * 1000);
  return `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
}

function size(bytes) {
  if (!bytes) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// --- words ---------------------------------------------------------------------------------

async function loadStrings(language) {
  const answer = await api(`strings?lang=${encodeURIComponent(language)}`);
  state.strings = answer.strings;
  document.documentElement.lang = answer.lang === "en" ? "en" : "zh-CN";
  document.title = t("title");
  document.getElementById("language").value = answer.lang;
  localStorage.setItem("playground.language", answer.lang);
  for (const node of document.querySelectorAll("[data-s]")) node.textContent = t(node.dataset.s);
  for (const node of document.querySelectorAll("[data-s-placeholder]")) {
    node.placeholder = t(node.dataset.sPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-s-title]")) {
    node.title = t(node.dataset.sTitle);
    node.setAttribute("aria-label", node.title);
  }
}

// --- formatted text ------------------------------------------------------------------------

function entityNode(entity, text) {
  switch (entity.type) {
    case "bold": return el("strong");
    case "italic": return el("em");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre", { class: entity.language ? `language-${entity.language}` : null });
    case "blockquote":
    case "expandable_blockquote": return el("blockquote");
    case "spoiler":
      return el("span", { class: "spoiler", onclick: (event) => event.currentTarget.classList.add("shown") });
    case "text_link":
      return SAFE_LINK.test(entity.url || "")
        ? el("a", { href: entity.url, target: "_blank", rel: "noopener noreferrer" })
        : el("span");
    case "url":
      return SAFE_LINK.test(text) ? el("a", { href: text, target: "_blank", rel: "noopener noreferrer" }) : el("span");
    case "bot_command":
      return el("span", { class: "command" });
    default: return el("span");
  }
}

// Nested entities become nested elements; offsets are UTF-16 units, as JavaScript strings are.
function formatted(text, entities) {
  const root = document.createDocumentFragment();
  const sorted = [...(entities || [])]
    .filter((e) => Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0)
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  function build(parent, start, end, list) {
    let at = start;
    for (let i = 0; i < list.length; i += 1) {
      const entity = list[i];
      if (entity.offset < at || entity.offset >= end) continue; // overlapping: drawn plain
      const stop = Math.min(entity.offset + entity.length, end);
      if (entity.offset > at) parent.append(text.slice(at, entity.offset));
      const node = entityNode(entity, text.slice(entity.offset, stop));
      const inner = [];
      while (i + 1 < list.length && list[i + 1].offset < stop) {
        i += 1;
        inner.push(list[i]);
      }
      build(node, entity.offset, stop, inner);
      parent.append(node);
      at = stop;
    }
    if (at < end) parent.append(text.slice(at, end));
  }
  build(root, 0, text.length, sorted);
  return root;
}

// --- people --------------------------------------------------------------------------------

async function loadPeople() {
  const answer = await api("people");
  state.people = new Map(answer.people.map((person) => [person.id, person]));
  renderPeople();
  for (const chat of state.chats.values()) {
    const person = state.people.get(chat.id);
    if (person && person.channel !== chat.channel.value) {
      showChannel(chat, person.channel);
      refreshMenu(chat);
    }
  }
}

function renderPeople() {
  const list = document.getElementById("people-list");
  list.replaceChildren();
  for (const person of state.people.values()) {
    const badge = el("span", { class: "badge", testid: `unread-${person.id}` }, String(person.unread));
    badge.hidden = !person.unread || state.chats.has(person.id);
    const item = el("li", {},
      el("button", {
        class: `person-item${state.tourPerson === person.id ? " tour-highlight" : ""}`,
        testid: `person-${person.id}`, type: "button",
        "aria-current": state.chats.has(person.id) ? "true" : null,
        onclick: () => openChat(person.id),
      },
      el("span", { class: "avatar", "aria-hidden": "true" }, initials(person.name)),
      el("span", { class: "who" },
        el("span", { class: "name" }, person.name),
        el("span", { class: "roles" }, person.roles)),
      person.channel === "wecom"
        ? el("span", { class: "channel-tag", s: "via_wecom", testid: `channel-tag-${person.id}` }, t("via_wecom"))
        : null,
      badge));
    list.append(item);
  }
  document.getElementById("no-people").hidden = state.people.size > 0;
}

function initials(name) {
  const letters = Array.from(name.trim());
  return letters.length ? letters[0].toUpperCase() : "?";
}

// --- chats ---------------------------------------------------------------------------------

function maxColumns() {
  return NARROW.matches ? 1 : 3;
}

async function openChat(id) {
  if (state.chats.has(id)) {
    state.chats.get(id).input.focus();
    return;
  }
  while (state.order.length >= maxColumns()) closeChat(state.order[0]);
  const chat = buildPanel(id);
  state.chats.set(id, chat);
  state.order.push(id);
  document.getElementById("chats").append(chat.panel);
  layoutChanged();
  await loadChat(chat);
  chat.input.focus();
}

function closeChat(id) {
  const chat = state.chats.get(id);
  if (!chat) return;
  chat.panel.remove();
  state.chats.delete(id);
  state.order = state.order.filter((open) => open !== id);
  layoutChanged();
}

function layoutChanged() {
  document.body.classList.toggle("has-chat", state.order.length > 0);
  document.getElementById("pick").hidden = state.order.length > 0;
  localStorage.setItem("playground.open", JSON.stringify(state.order));
  renderPeople();
}

async function loadChat(chat) {
  const answer = await api(`chats/${chat.id}`);
  chat.loadedAt = answer.last_event_id;
  chat.title.textContent = answer.person.name;
  chat.roles.textContent = answer.person.roles;
  chat.language.value = answer.person.language;
  showChannel(chat, answer.person.channel);
  chat.list.replaceChildren();
  chat.nodes.clear();
  chat.messages.clear();
  for (const message of answer.messages) addMessage(chat, message);
  chat.menu = answer.menu;
  renderMenu(chat);
  const person = state.people.get(chat.id);
  if (person) person.unread = 0;
  scrollDown(chat, true);
}

function buildPanel(id) {
  const chat = { id, nodes: new Map(), messages: new Map(), menu: [], replyTo: null, loadedAt: 0 };
  chat.title = el("strong", { class: "title" });
  chat.roles = el("span", { class: "roles" });
  chat.list = el("div", { class: "messages", role: "log", testid: `messages-${id}` });
  chat.toast = el("div", { class: "toast", role: "status", testid: `toast-${id}` });
  chat.toast.hidden = true;
  chat.menuBox = el("div", { class: "menu", testid: `menu-${id}` });
  chat.menuBox.hidden = true;
  chat.error = el("div", { class: "error", role: "alert", testid: `error-${id}` });
  chat.error.hidden = true;
  chat.replyText = el("span", { class: "reply-snippet" });
  chat.replyBar = el("div", { class: "replybar", testid: `replybar-${id}` },
    el("span", { class: "reply-label", s: "replying_to" }, t("replying_to")), chat.replyText,
    el("button", {
      type: "button", class: "icon", "data-s-title": "cancel", title: t("cancel"),
      testid: `reply-cancel-${id}`, onclick: () => setReply(chat, null),
    }, "✕"));
  chat.replyBar.hidden = true;
  chat.input = el("textarea", {
    rows: 1, testid: `input-${id}`, "data-s-placeholder": "message", placeholder: t("message"),
    maxlength: 4096,
    onkeydown: (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendText(chat);
      }
    },
    oninput: () => autosize(chat.input),
  });
  const files = {};
  for (const [kind, accept] of [["photo", "image/*"], ["voice", "audio/*"], ["document", ""]]) {
    files[kind] = el("input", {
      type: "file", class: "hidden-file", accept: accept || null, testid: `file-${kind}-${id}`,
      onchange: (event) => {
        const file = event.target.files[0];
        event.target.value = "";
        chat.attachMenu.hidden = true;
        if (file) sendFile(chat, kind, file);
      },
    });
  }
  chat.attachMenu = el("div", { class: "attach-menu", testid: `attach-menu-${id}` },
    ...["photo", "voice", "document"].map((kind) => el("button", {
      type: "button", testid: `attach-${kind}-${id}`, onclick: () => files[kind].click(),
    }, label(`attach_${kind}`))));
  chat.attachMenu.hidden = true;
  const composer = el("form", {
    class: "composer",
    onsubmit: (event) => {
      event.preventDefault();
      sendText(chat);
    },
  },
  el("button", {
    type: "button", class: "icon slash", testid: `commands-${id}`, "data-s-title": "commands",
    title: t("commands"), onclick: () => { chat.menuBox.hidden = !chat.menuBox.hidden; },
  }, "/"),
  el("button", {
    type: "button", class: "icon", testid: `attach-${id}`, "data-s-title": "attach",
    title: t("attach"), onclick: () => { chat.attachMenu.hidden = !chat.attachMenu.hidden; },
  }, icon("attach")),
  chat.input,
  el("button", { type: "submit", class: "send", testid: `send-${id}` }, label("send")),
  ...Object.values(files));
  chat.language = el("select", {
    class: "person-language", testid: `person-language-${id}`, "data-s-title": "person_language",
    title: t("person_language"), onchange: (event) => setLanguage(chat, event.target.value),
  }, el("option", { value: "zh_CN" }, "中文"), el("option", { value: "en" }, "English"));
  chat.channel = el("select", {
    class: "person-channel", testid: `channel-${id}`, "data-s-title": "person_channel",
    title: t("person_channel"), onchange: (event) => setChannel(chat, event.target.value),
  }, el("option", { value: "telegram", s: "telegram" }, t("telegram")),
  el("option", { value: "wecom", s: "wecom" }, t("wecom")));
  chat.panel = el("section", { class: "chat", testid: `chat-${id}`, "data-chat": id },
    el("header", { class: "chat-head" },
      el("button", {
        type: "button", class: "icon back", testid: `back-${id}`, "data-s-title": "back",
        title: t("back"), onclick: () => closeChat(id),
      }, "‹"),
      el("span", { class: "avatar", "aria-hidden": "true" },
        initials(state.people.get(id)?.name || "?")),
      el("div", { class: "who" }, chat.title, chat.roles),
      chat.channel,
      chat.language,
      el("button", {
        type: "button", class: "icon close", testid: `close-${id}`, "data-s-title": "close",
        title: t("close"), onclick: () => closeChat(id),
      }, "✕")),
    chat.list, chat.toast, chat.menuBox, chat.attachMenu, chat.error, chat.replyBar, composer);
  return chat;
}

function autosize(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

function renderMenu(chat) {
  chat.menuBox.replaceChildren();
  if (!chat.menu.length) {
    chat.menuBox.append(el("p", { class: "empty", s: "no_commands" }, t("no_commands")));
    return;
  }
  for (const command of chat.menu) {
    chat.menuBox.append(el("button", {
      type: "button", class: "menu-item", testid: `command-${chat.id}-${command.command}`,
      onclick: () => {
        chat.menuBox.hidden = true;
        say(chat, `/${command.command}`);
      },
    }, el("span", { class: "command" }, `/${command.command}`),
    el("span", { class: "description" }, command.description)));
  }
}

function scrollDown(chat, always = false) {
  const list = chat.list;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  if (always || nearBottom) list.scrollTop = list.scrollHeight;
}

// --- messages ------------------------------------------------------------------------------

function snippet(message) {
  if (!message) return "…";
  if (message.text) return message.text.slice(0, 80);
  if (message.photo) return t("attach_photo");
  if (message.voice) return t("attach_voice");
  if (message.document) return message.document.file_name || t("attach_document");
  return "…";
}

function renderMessage(chat, message) {
  const bubble = el("div", {
    class: `msg ${message.from}`, testid: `msg-${chat.id}-${message.id}`, "data-id": message.id,
  });
  if (message.reply_to) {
    const target = chat.messages.get(message.reply_to);
    bubble.append(el("button", {
      type: "button", class: "quote", testid: `quote-${chat.id}-${message.id}`,
      onclick: () => chat.nodes.get(message.reply_to)?.scrollIntoView({ block: "center" }),
    }, snippet(target)));
  }
  if (message.photo && message.photo.url) {
    const image = el("img", {
      class: "photo", src: message.photo.url, alt: t("attach_photo"), loading: "lazy",
      testid: `photo-${chat.id}-${message.id}`, onclick: () => enlarge(message.photo.url),
      onload: () => scrollDown(chat),
    });
    if (message.photo.width && message.photo.height) {
      image.width = message.photo.width;
      image.height = message.photo.height;
    }
    bubble.append(image);
  }
  if (message.document) {
    const name = message.document.file_name || t("attach_document");
    bubble.append(el("a", {
      class: "document", href: message.document.url || null, download: name,
      testid: `document-${chat.id}-${message.id}`, title: t("download"),
    }, el("span", { class: "doc-icon" }, icon("file")),
    el("span", { class: "doc-name" }, name),
    el("span", { class: "doc-size" }, size(message.document.file_size))));
  }
  if (message.voice && message.voice.url) {
    bubble.append(el("audio", {
      controls: true, preload: "none", src: message.voice.url, testid: `voice-${chat.id}-${message.id}`,
    }));
  }
  if (message.card) bubble.append(card(chat, message));
  if (message.text) {
    bubble.append(el("div", { class: "text" }, formatted(message.text, message.entities)));
  }
  const via = message.channel === "wecom" ? "via_wecom" : "telegram";
  bubble.classList.toggle("wecom", message.channel === "wecom");
  bubble.append(el("div", { class: "meta" },
    el("span", { class: `via via-${message.channel}`, s: via, testid: `via-${chat.id}-${message.id}` }, t(via)),
    message.edited ? el("span", { class: "edited", s: "edited" }, t("edited")) : null,
    el("time", {}, clock(message.date)),
    el("button", {
      type: "button", class: "reply-button", testid: `reply-${chat.id}-${message.id}`,
      "data-s-title": "reply", title: t("reply"), onclick: () => setReply(chat, message.id),
    }, "↩")));
  if (message.reply_markup) bubble.append(keyboard(chat, message));
  bubble.addEventListener("click", (event) => {
    const command = event.target.closest(".msg.bot .text .command");
    if (command) say(chat, command.textContent);
  });
  return bubble;
}

function keyboard(chat, message) {
  const box = el("div", { class: "keyboard", testid: `keyboard-${chat.id}-${message.id}` });
  message.reply_markup.forEach((row, r) => {
    const line = el("div", { class: "kb-row" });
    row.forEach((button, c) => {
      const testid = `button-${chat.id}-${message.id}-${r}-${c}`;
      if (button.callback_data !== undefined) {
        line.append(el("button", {
          type: "button", class: "kb-button", testid,
          onclick: (event) => tap(chat, message.id, button.callback_data, event.currentTarget),
        }, button.text));
      } else if (button.url && SAFE_LINK.test(button.url)) {
        line.append(el("a", {
          class: "kb-button", href: button.url, target: "_blank", rel: "noopener noreferrer", testid,
        }, button.text, " ↗"));
      } else {
        line.append(el("button", { type: "button", class: "kb-button", disabled: true, testid }, button.text));
      }
    });
    box.append(line);
  });
  return box;
}

// A WeCom template card as the WeCom app draws it: title, rows, body, quote, at most six
// buttons (or the one greyed label a card update left).
function card(chat, message) {
  const data = message.card;
  const box = el("div", { class: "wecom-card", testid: `card-${chat.id}-${message.id}` },
    el("div", { class: "card-title" }, data.title),
    data.desc ? el("div", { class: "card-desc" }, data.desc) : null);
  if (data.rows.length) {
    box.append(el("dl", { class: "card-rows" }, ...data.rows.flatMap(([key, value]) => [
      el("dt", {}, key), el("dd", {}, value)])));
  }
  if (data.body) box.append(el("div", { class: "card-body" }, data.body));
  if (data.quote) box.append(el("div", { class: "card-quote" }, data.quote));
  const buttons = el("div", { class: "card-buttons" });
  if (data.greyed) {
    buttons.append(el("button", { type: "button", class: "card-button", disabled: true }, data.greyed));
  } else {
    data.buttons.forEach((button, index) => {
      buttons.append(el("button", {
        type: "button", class: `card-button style-${button.style}`,
        testid: `card-button-${chat.id}-${message.id}-${index}`,
        onclick: (event) => tap(chat, message.id, button.key, event.currentTarget),
      }, button.text));
    });
  }
  box.append(buttons);
  return box;
}

function addMessage(chat, message) {
  if (chat.nodes.has(message.id)) {
    replaceMessage(chat, message);
    return;
  }
  chat.messages.set(message.id, message);
  const bubble = renderMessage(chat, message);
  chat.nodes.set(message.id, bubble);
  const group = message.media_group_id;
  const last = chat.list.lastElementChild;
  if (group && last && last.classList.contains("album") && last.dataset.group === group) {
    last.append(bubble);
  } else if (group) {
    chat.list.append(el("div", {
      class: `album ${message.from}`, "data-group": group, testid: `album-${chat.id}-${group}`,
    }, bubble));
  } else {
    chat.list.append(bubble);
  }
}

function replaceMessage(chat, message) {
  const old = chat.nodes.get(message.id);
  if (!old) return;
  chat.messages.set(message.id, message);
  const bubble = renderMessage(chat, message);
  old.replaceWith(bubble);
  chat.nodes.set(message.id, bubble);
}

function removeMessage(chat, id) {
  const node = chat.nodes.get(id);
  if (!node) return;
  const album = node.parentElement.classList.contains("album") ? node.parentElement : null;
  node.remove();
  if (album && !album.childElementCount) album.remove();
  chat.nodes.delete(id);
  chat.messages.delete(id);
  if (chat.replyTo === id) setReply(chat, null);
}

function enlarge(url) {
  const box = document.getElementById("lightbox");
  document.getElementById("lightbox-image").src = url;
  box.hidden = false;
}

function setReply(chat, id) {
  chat.replyTo = id;
  chat.replyBar.hidden = id === null;
  chat.replyText.textContent = id === null ? "" : snippet(chat.messages.get(id));
  scrollDown(chat);
  if (id !== null) chat.input.focus();
}

function showError(chat, error) {
  const reason = error instanceof PageError ? t(error.key) : String(error);
  chat.error.textContent = t("not_sent", { reason });
  chat.error.hidden = false;
  scrollDown(chat);
  clearTimeout(chat.errorTimer);
  chat.errorTimer = setTimeout(() => { chat.error.hidden = true; }, 6000);
}

function showToast(chat, toast) {
  chat.toast.textContent = toast.text;
  chat.toast.classList.toggle("alert", Boolean(toast.show_alert));
  chat.toast.hidden = false;
  clearTimeout(chat.toastTimer);
  chat.toastTimer = setTimeout(() => { chat.toast.hidden = true; }, toast.show_alert ? 8000 : 3000);
}

// --- what a person does --------------------------------------------------------------------

async function say(chat, text) {
  const body = { text };
  if (chat.replyTo !== null) body.reply_to = chat.replyTo;
  try {
    const answer = await postJson(`chats/${chat.id}/messages`, body);
    addMessage(chat, answer.message);
    setReply(chat, null);
    chat.error.hidden = true;
    scrollDown(chat, true);
    return true;
  } catch (error) {
    showError(chat, error);
    return false;
  }
}

async function sendText(chat) {
  const text = chat.input.value;
  if (!text.trim()) return;
  if (await say(chat, text)) {
    chat.input.value = "";
    autosize(chat.input);
  }
}

function voiceSeconds(file) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const audio = new Audio();
    const done = (seconds) => {
      URL.revokeObjectURL(url);
      resolve(Number.isFinite(seconds) ? Math.round(seconds) : 0);
    };
    audio.addEventListener("loadedmetadata", () => done(audio.duration));
    audio.addEventListener("error", () => done(0));
    setTimeout(() => done(0), 2000);
    audio.src = url;
  });
}

async function sendFile(chat, kind, file) {
  const form = new FormData();
  form.append("kind", kind);
  form.append("file", file, file.name);
  const caption = chat.input.value.trim();
  if (caption && kind !== "voice") form.append("caption", caption);
  if (chat.replyTo !== null) form.append("reply_to", String(chat.replyTo));
  if (kind === "voice") form.append("duration", String(await voiceSeconds(file)));
  try {
    const answer = await api(`chats/${chat.id}/files`, { method: "POST", body: form });
    addMessage(chat, answer.message);
    setReply(chat, null);
    if (caption && kind !== "voice") chat.input.value = "";
    scrollDown(chat, true);
  } catch (error) {
    showError(chat, error);
  }
}

async function tap(chat, messageId, data, button) {
  button.classList.add("pressed");
  try {
    await postJson(`chats/${chat.id}/tap`, { message_id: messageId, data });
  } catch (error) {
    showError(chat, error);
  } finally {
    setTimeout(() => button.classList.remove("pressed"), 400);
  }
}

// The language the bot speaks to this person (as their /lang would set it).
async function setLanguage(chat, language) {
  try {
    const answer = await postJson(`chats/${chat.id}/language`, { lang: language });
    chat.roles.textContent = answer.roles;
    await refreshMenu(chat);
  } catch (error) {
    showError(chat, error);
  }
}

// The app this person talks to the bot in: their account is bound there (and only there).
function showChannel(chat, channel) {
  chat.channel.value = channel;
  chat.panel.classList.toggle("on-wecom", channel === "wecom");
}

async function setChannel(chat, channel) {
  const before = state.people.get(chat.id)?.channel || "telegram";
  try {
    await postJson(`chats/${chat.id}/channel`, { channel });
    showChannel(chat, channel);
    await refreshMenu(chat);
  } catch (error) {
    showChannel(chat, before);
    showError(chat, error);
  }
}

// --- the shop's clock ----------------------------------------------------------------------

// "2026-12-07T09:00:00+08:00", the shop's local time as the server tells it: shown as it is.
function showClock(now) {
  const shown = document.getElementById("shop-time");
  shown.dateTime = now;
  shown.textContent = now.slice(0, 16).replace("T", " ");
}

async function loadClock() {
  showClock((await api("clock")).now);
}

async function moveClock(button) {
  const buttons = document.querySelectorAll("[data-advance]");
  const note = document.getElementById("clock-note");
  buttons.forEach((each) => { each.disabled = true; });
  try {
    const answer = await postJson("clock", { advance: button.dataset.advance });
    showClock(answer.now);
    note.textContent = t("clock_moved", { count: answer.sent });
  } catch (error) {
    note.textContent = t("not_sent", { reason: error instanceof PageError ? t(error.key) : String(error) });
  } finally {
    buttons.forEach((each) => { each.disabled = false; });
  }
}

// --- live changes --------------------------------------------------------------------------

const markRead = new Map(); // chat id → timer

function readSoon(id) {
  clearTimeout(markRead.get(id));
  markRead.set(id, setTimeout(() => {
    markRead.delete(id);
    if (state.chats.has(id)) postJson(`chats/${id}/read`, {}).catch(() => {});
  }, 500));
}

function onEvent(event) {
  const data = JSON.parse(event.data);
  const number = Number(event.lastEventId) || 0;
  const chat = data.chat !== undefined && data.chat !== null ? state.chats.get(data.chat) : null;
  if (chat && number && number <= chat.loadedAt) return; // already in what the chat loaded
  switch (data.type) {
    case "message":
      if (chat) {
        addMessage(chat, data.message);
        scrollDown(chat, data.message.from === "person");
        if (data.message.from === "bot") readSoon(chat.id);
      } else if (state.people.has(data.chat)) {
        state.people.get(data.chat).unread = data.unread;
        renderPeople();
      }
      break;
    case "edit":
      if (chat) replaceMessage(chat, data.message);
      break;
    case "delete":
      if (chat) data.ids.forEach((id) => removeMessage(chat, id));
      break;
    case "toast":
      if (chat) showToast(chat, data);
      break;
    case "menu":
      for (const open of state.chats.values()) {
        if (data.chat === null || data.chat === open.id) refreshMenu(open);
      }
      break;
    case "people":
      loadPeople();
      break;
    case "reset":
      reloadEverything();
      break;
    case "clock":
      showClock(data.now);
      break;
    default:
      break;
  }
}

async function refreshMenu(chat) {
  const answer = await api(`chats/${chat.id}`);
  chat.menu = answer.menu;
  renderMenu(chat);
}

async function reloadEverything() {
  await loadClock();
  await loadPeople();
  for (const id of [...state.order]) {
    if (state.people.has(id)) await loadChat(state.chats.get(id));
    else closeChat(id);
  }
}

function listen() {
  const source = new EventSource(`${API}events`);
  const status = document.getElementById("status");
  source.addEventListener("message", onEvent);
  source.addEventListener("open", () => { status.hidden = true; });
  source.addEventListener("error", () => { status.hidden = false; });
  state.events = source;
}

// --- the guided tour -----------------------------------------------------------------------

// Steps from the server (the demo person of each step's role, in the page's language); each
// highlights that person and opens their chat. Skipped or finished, it stays closed.
const TOUR_DISMISSED = "playground.tour";

async function openTour() {
  try {
    state.tour = (await api(`tour?lang=${encodeURIComponent(document.getElementById("language").value)}`)).steps;
  } catch (error) {
    state.tour = [];
  }
  if (!state.tour.length) return;
  document.getElementById("tour").hidden = false;
  await showStep(0);
}

async function showStep(index) {
  state.tourAt = index;
  const step = state.tour[index];
  document.getElementById("tour-step").textContent = t("tour_step", { number: index + 1, count: state.tour.length });
  document.getElementById("tour-text").textContent = step.text;
  document.getElementById("tour-back").disabled = index === 0;
  const last = index === state.tour.length - 1;
  document.getElementById("tour-next").textContent = t(last ? "tour_finish" : "tour_next");
  document.getElementById("tour-next").dataset.s = last ? "tour_finish" : "tour_next";
  highlight(step.person);
  if (state.people.has(step.person)) await openChat(step.person);
  highlight(step.person);
}

function highlight(id) {
  state.tourPerson = id;
  renderPeople();
  for (const chat of state.chats.values()) chat.panel.classList.toggle("tour-highlight", chat.id === id);
}

function closeTour() {
  document.getElementById("tour").hidden = true;
  localStorage.setItem(TOUR_DISMISSED, "dismissed");
  highlight(null);
}

function initTour() {
  document.getElementById("tour-open").addEventListener("click", openTour);
  document.getElementById("tour-skip").addEventListener("click", closeTour);
  document.getElementById("tour-back").addEventListener("click", () => showStep(Math.max(state.tourAt - 1, 0)));
  document.getElementById("tour-next").addEventListener("click", () => {
    if (state.tourAt + 1 < state.tour.length) showStep(state.tourAt + 1);
    else closeTour();
  });
  if (localStorage.getItem(TOUR_DISMISSED) !== "dismissed") openTour();
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  const language = localStorage.getItem("playground.language") ||
    (navigator.language.toLowerCase().startsWith("zh") ? "zh_CN" : "en");
  await loadStrings(language);
  document.getElementById("language").addEventListener("change", async (event) => {
    await loadStrings(event.target.value);
    for (const chat of state.chats.values()) await loadChat(chat); // dates, "edited"…
    if (!document.getElementById("tour").hidden) {
      const at = state.tourAt;
      await openTour();
      if (at < state.tour.length) await showStep(at);
    }
  });
  document.getElementById("lightbox").addEventListener("click", (event) => {
    event.currentTarget.hidden = true;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.getElementById("lightbox").hidden = true;
  });
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => moveClock(button));
  }
  await loadClock();
  await loadPeople();
  listen();
  // #open=5001,5002 opens those chats (a link to a scene); else the chats open last time.
  const asked = new URLSearchParams(location.hash.slice(1)).get("open");
  let previous = [];
  try {
    previous = asked ? asked.split(",").map(Number) : JSON.parse(localStorage.getItem("playground.open") || "[]");
  } catch (error) {
    previous = [];
  }
  for (const id of previous.slice(-maxColumns())) {
    if (state.people.has(id)) await openChat(id);
  }
  NARROW.addEventListener("change", () => {
    while (state.order.length > maxColumns()) closeChat(state.order[0]);
  });
  initTour();
}

start();
