/* /side-by-side/: each step runs on both channels for real, and shows what each keeps.
 *
 * Web column: the shop's own form posts (CSRF token from the csrftoken cookie), sent with
 * "X-Reveal-Answer: 1" so that the server describes its answer (status, Set-Cookie, the
 * Cookie header it got), which a script could not otherwise see; then GET /session/.
 * API column: the JSON endpoints with "Authorization: Bearer <token>"; the page keeps
 * every token it was given, decodes them (anyone can) and asks the server about older ones.
 * Both columns read the answers' Server-Timing header. No library, no network but this shop.
 */
"use strict";

(() => {
  const root = document.getElementById("side-by-side");
  if (!root) return;
  const products = JSON.parse(document.getElementById("sbs-products").textContent);
  const apiLogoutUrl = root.dataset.apiLogout || "";
  const csrfCookie = root.dataset.csrfCookie || "csrftoken";
  const $ = (selector) => root.querySelector(selector);
  const testid = (name) => root.querySelector(`[data-testid="${name}"]`);
  const encoder = new TextEncoder();
  const bytes = (text) => encoder.encode(text || "").length;

  const state = {
    step: 0,
    busy: false,
    token: null,
    claims: null,
    kept: [], // {label, token}
    account: null, // {username, password}
    web: { sent: 0, queries: 0, requests: 0 },
    api: { sent: 0, queries: 0, requests: 0 },
  };

  // --- Small helpers ------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function announce(text) {
    testid("sbs-status").textContent = text;
  }

  function randomText(length, alphabet) {
    const values = crypto.getRandomValues(new Uint32Array(length));
    return Array.from(values, (v) => alphabet[v % alphabet.length]).join("");
  }

  function productName(id) {
    return products[String(id)] || `product ${id}`;
  }

  function cartText(lines) {
    if (!lines || !lines.length) return "empty";
    return lines.map(([id, quantity]) => `${quantity} × ${productName(id)}`).join(", ");
  }

  /* Server-Timing as browsers parse it: name -> {dur, desc}. */
  function serverTiming(response) {
    const found = {};
    for (const entry of (response.headers.get("Server-Timing") || "").split(",")) {
      const [name, ...params] = entry.trim().split(";");
      if (!name) continue;
      const item = { dur: 0, desc: "" };
      for (const param of params) {
        const [key, raw = ""] = param.split("=");
        const value = raw.replace(/^"|"$/g, "");
        if (key === "dur") item.dur = Number(value);
        if (key === "desc") item.desc = value;
      }
      found[name] = item;
    }
    return found;
  }

  function queries(timing) {
    const match = /(\d+) quer/.exec((timing.db && timing.db.desc) || "");
    return match ? Number(match[1]) : 0;
  }

  function timingText(timing) {
    const parts = [];
    if (timing.db) parts.push(`db ${timing.db.dur.toFixed(2)} ms (${timing.db.desc})`);
    if (timing.session) parts.push(`session ${timing.session.dur.toFixed(2)} ms (${timing.session.desc})`);
    if (timing["token-verify"]) parts.push(`token verify ${timing["token-verify"].dur.toFixed(2)} ms`);
    if (timing["token-sign"]) parts.push(`token sign ${timing["token-sign"].dur.toFixed(2)} ms`);
    if (timing.total) parts.push(`total ${timing.total.dur.toFixed(2)} ms`);
    return parts.join(" · ") || "no Server-Timing header";
  }

  function decodeSegment(segment) {
    const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    const raw = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(raw));
  }

  function decodeToken(token) {
    try {
      const [header, claims] = token.split(".");
      return { header: decodeSegment(header), claims: decodeSegment(claims) };
    } catch (error) {
      return null;
    }
  }

  function when(seconds) {
    return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
  }

  // --- The two channels' requests -------------------------------------------------

  function csrfToken() {
    for (const part of document.cookie.split(";")) {
      const [name, value] = part.trim().split("=");
      if (name === csrfCookie) return decodeURIComponent(value);
    }
    const input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /* One web shop request, described by the server (shop/reveal.py). */
  async function web(method, path, fields = null) {
    const init = { method, credentials: "same-origin", headers: { "X-Reveal-Answer": "1" } };
    if (method === "POST") {
      const form = new URLSearchParams({ csrfmiddlewaretoken: csrfToken(), ...(fields || {}) });
      init.body = form;
    }
    const response = await fetch(path, init);
    const timing = serverTiming(response);
    const answer = await response.json();
    state.web.sent += answer.cookie_sent.bytes;
    state.web.queries += queries(timing);
    state.web.requests += 1;
    return { method, path, fields, answer, timing };
  }

  async function readSession() {
    const response = await fetch("/session/", { credentials: "same-origin" });
    return { held: await response.json(), timing: serverTiming(response) };
  }

  /* One API request; `token` is sent as Authorization when given. */
  async function api(method, path, body = null, token = state.token, headers = {}) {
    const init = { method, credentials: "omit", headers: { Accept: "application/json", ...headers } };
    const authorization = token ? `Bearer ${token}` : "";
    if (authorization) init.headers.Authorization = authorization;
    if (body !== null) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch (error) {
      json = null;
    }
    const timing = serverTiming(response);
    state.api.sent += bytes(authorization);
    state.api.queries += queries(timing);
    state.api.requests += 1;
    return {
      method, path, body, status: response.status, json, timing,
      authBytes: bytes(authorization), bodyBytes: bytes(text),
      token: json && typeof json.token === "string" ? json.token : null,
    };
  }

  // --- Steps: each returns {web, api} results -------------------------------------

  const selected = () => Number($("#sbs-product").value);
  const quantity = () => $("#sbs-quantity").value.trim();

  function nextProduct(id) {
    const ids = Array.from($("#sbs-product").options, (option) => Number(option.value));
    return ids[(ids.indexOf(id) + 1) % ids.length];
  }

  /* The password is shown once, in the account line; the step log does not repeat it. */
  function masked(fields) {
    const copy = { ...fields };
    for (const name of ["password", "password1", "password2"]) if (name in copy) copy[name] = "(see above)";
    return copy;
  }

  function adopt(result) {
    if (result.token) state.token = result.token;
    return result;
  }

  const steps = {
    async add() {
      const id = selected();
      return {
        title: `Add ${quantity()} × ${productName(id)}`,
        web: { requests: [await web("POST", "/cart/add/", { product_id: id, quantity: quantity() })] },
        api: { requests: [adopt(await api("POST", "/api/cart/items/", { product_id: id, quantity: Number(quantity()) }))] },
      };
    },

    async set() {
      const id = selected();
      return {
        title: `Set ${productName(id)} to ${quantity()}`,
        web: { requests: [await web("POST", `/cart/items/${id}/`, { quantity: quantity() })] },
        api: { requests: [adopt(await api("PUT", `/api/cart/items/${id}/`, { quantity: Number(quantity()) }))] },
      };
    },

    async remove() {
      const id = selected();
      return {
        title: `Remove ${productName(id)}`,
        web: { requests: [await web("POST", `/cart/items/${id}/remove/`)] },
        api: { requests: [adopt(await api("DELETE", `/api/cart/items/${id}/`))] },
      };
    },

    async "second-tab"() {
      const mine = selected();
      const theirs = nextProduct(mine);
      const webBoth = await Promise.all([
        web("POST", "/cart/add/", { product_id: mine, quantity: 1 }),
        web("POST", "/cart/add/", { product_id: theirs, quantity: 1 }),
      ]);
      const from = state.token;
      const apiBoth = await Promise.all([
        api("POST", "/api/cart/items/", { product_id: mine, quantity: 1 }, from),
        api("POST", "/api/cart/items/", { product_id: theirs, quantity: 1 }, from),
      ]);
      adopt(apiBoth[0]);
      if (apiBoth[1].token) keep(apiBoth[1].token, `the other tab's token, step ${state.step}`);
      return {
        title: `Second tab: this tab adds ${productName(mine)}, the other ${productName(theirs)}, at once`,
        web: {
          requests: webBoth,
          note: "Both requests carried the same cookie; the session lock ran them one after the other on the one cart.",
        },
        api: {
          requests: apiBoth,
          note: "Both requests carried the same token; each answer is a new token holding only its own change. This page keeps this tab's token; the other tab's is kept for replay. Whichever is checked out first spends the cart id.",
        },
      };
    },

    async login() {
      let created = false;
      if (!state.account) {
        const username = `demo-${randomText(10, "abcdefghijkmnpqrstuvwxyz23456789")}`;
        const password = randomText(20, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789");
        state.account = { username, password };
        created = true;
      }
      const { username, password } = state.account;
      const webRequests = [];
      if (created) {
        webRequests.push(await web("POST", "/accounts/signup/", {
          username, first_name: "Demo", email: `${username}@example.com`,
          password1: password, password2: password,
        }));
      } else {
        webRequests.push(await web("POST", "/accounts/login/", { username, password }));
      }
      const signedIn = webRequests[0].answer.status === 302;
      if (created && !signedIn) state.account = null; // the sign-up was refused: try again later
      showAccount();
      const apiRequests = signedIn ? [adopt(await api("POST", "/api/auth/token/", { username, password }))] : [];
      for (const request of webRequests) request.fields = masked(request.fields);
      for (const request of apiRequests) request.body = masked(request.body);
      return {
        title: created ? `Log in (a new demo account, ${username})` : `Log in as ${username}`,
        web: {
          requests: webRequests,
          note: created ? "The shop's sign-up form created the account and logged this session in (a new session key, the same cart)." : "Logging in gives the session a new key and keeps its cart.",
        },
        api: {
          requests: apiRequests,
          note: signedIn ? "The new token carries the user id (sub) and the same cart id." : "Not sent: the web shop refused the account, so there is nothing to log in with.",
        },
      };
    },

    async logout() {
      const webRequests = [await web("POST", "/accounts/logout/")];
      const dropped = state.token;
      const apiRequests = [];
      if (apiLogoutUrl && dropped) apiRequests.push(await api("POST", apiLogoutUrl, {}, dropped));
      if (dropped) keep(dropped, `the token held at logout, step ${state.step}`);
      state.token = null;
      state.claims = null;
      return {
        title: "Log out",
        web: { requests: webRequests, note: "The shop deletes the session on the server and sends a cookie that ends this one." },
        api: {
          requests: apiRequests,
          note: apiLogoutUrl
            ? `The page asked the server to end its token (POST ${apiLogoutUrl}), then forgot it.`
            : "Logging out is the page forgetting its token: this deployment has no API logout endpoint and keeps nothing it could delete. Below: is the forgotten token still accepted?",
          probe: dropped,
        },
      };
    },

    async forget() {
      const webRequests = [await web("POST", "/session/forget/")];
      const apiRequests = state.token ? [adopt(await api("GET", "/api/cart/"))] : [];
      return {
        title: "The session store forgets me",
        web: { requests: webRequests, note: "The store no longer holds the session; the browser still sends the cookie, which now names nothing." },
        api: { requests: apiRequests, note: "The server has nothing to forget: the cart is in the token, and the next request finds it whole." },
      };
    },

    async replay() {
      const chosen = $("#sbs-replay-token").value;
      const kept = state.kept.find((item) => item.token === chosen) || state.kept[0];
      const apiRequests = kept ? [await api("GET", "/api/cart/", null, kept.token)] : [];
      return {
        title: kept ? `Replay ${kept.label}` : "Replay an older token",
        web: { requests: [], note: "Nothing to replay from a page: the session cookie is HttpOnly, so no script can keep a copy. A copied cookie of a session that was logged out or forgotten names nothing on the server." },
        api: {
          requests: apiRequests,
          note: kept
            ? `Sent the token kept as “${kept.label}” (${cartText(decodeToken(kept.token).claims.cart)}). This page still keeps its latest token; a client that took this answer would be back at that older cart.`
            : "No older token kept yet.",
        },
      };
    },

    async checkout() {
      const name = $("#sbs-name").value;
      const email = $("#sbs-email").value;
      const address = $("#sbs-address").value;
      const webRequests = [await web("GET", "/checkout/")];
      const page = webRequests[0].answer;
      if (page.status === 200 && page.body) {
        const idInput = new DOMParser().parseFromString(page.body, "text/html").querySelector("input[name=checkout_id]");
        const fields = {};
        for (const input of idInput ? idInput.form.querySelectorAll("input[type=hidden]") : []) {
          if (input.name !== "csrfmiddlewaretoken") fields[input.name] = input.value;
        }
        webRequests.push(await web("POST", "/checkout/", { ...fields, name, email, address }));
      }
      const apiRequests = [];
      if (state.token) {
        const key = randomText(16, "abcdefghijklmnopqrstuvwxyz0123456789");
        apiRequests.push(adopt(await api("POST", "/api/checkout/", { name, email, address }, state.token, { "Idempotency-Key": key })));
      }
      return {
        title: "Check out",
        web: { requests: webRequests, note: webRequests.length === 1 ? "No checkout form: the shop sent the visitor back to the cart (see its message)." : "" },
        api: { requests: apiRequests, note: state.token ? "" : "No token: there is no API cart to check out." },
      };
    },
  };

  // --- Showing what happened -------------------------------------------------------------

  function keep(token, label) {
    if (!token || state.kept.some((item) => item.token === token)) return;
    state.kept.push({ token, label });
    const select = $("#sbs-replay-token");
    if (state.kept.length === 1) select.replaceChildren();
    select.append(el("option", { value: token, text: `${label}: ${cartText(decodeToken(token).claims.cart)}` }));
  }

  function showAccount() {
    const account = state.account;
    testid("sbs-account").replaceChildren(
      ...(account
        ? ["Demo account: ", el("code", { text: account.username }), ", password ", el("code", { text: account.password }), " (made in this browser, sent only to this shop)."]
        : ["No demo account yet."]),
    );
  }

  /* JSON with one top-level key per line: short enough to read at 390 px. */
  function jsonLines(value) {
    const entries = Object.entries(value || {});
    if (!entries.length) return "{}";
    return `{\n${entries.map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(",\n")}\n}`;
  }

  function pre(value) {
    return el("pre", { class: "sbs-pre" }, jsonLines(value));
  }

  function item(term, ...definition) {
    return [el("dt", { text: term }), el("dd", {}, ...definition)];
  }

  function webRequestItems(request) {
    const answer = request.answer;
    const sent = answer.cookie_sent;
    const cookies = sent.cookies.map((c) => `${c.name} ${c.bytes}`).join(", ");
    const setCookies = answer.set_cookie.map((c) =>
      `${c.name}=${c.value_prefix}${c.value_bytes > c.value_prefix.length ? "…" : ""} (${c.bytes} bytes${c.deletes ? ", deletes it" : ""}; ${c.attributes})`);
    const fields = request.fields ? Object.entries(request.fields).map(([k, v]) => `${k}=${v}`).join("&") : "";
    return [
      ...item("Request", el("code", { text: `${request.method} ${request.path}` }), fields ? ` · form: ${fields}` : "",
        ` · Cookie: ${sent.bytes} bytes`, cookies ? ` (${cookies})` : " (none)"),
      ...item("Answer", el("strong", { text: `${answer.status} ${answer.reason}` }),
        answer.location ? ` → ${answer.location}` : "", ` · body ${answer.body_bytes} bytes · `,
        setCookies.length ? `Set-Cookie: ${setCookies.join("; ")}` : "no Set-Cookie"),
      ...item("Server-Timing", timingText(request.timing)),
    ];
  }

  function renderWeb(number, title, result, after) {
    const held = after.held;
    const list = [];
    for (const request of result.requests) list.push(...webRequestItems(request));
    if (result.note) list.push(...item("What happened", result.note));
    if (held.messages && held.messages.length) {
      list.push(...item("The shop says", el("ul", {}, held.messages.map((m) => el("li", { class: `sbs-msg-${m.level}`, text: m.text })))));
    }
    list.push(...item("Held after", heldText(held), pre(held.data)));
    list.push(...item("Reading it", `GET /session/: ${timingText(after.timing)}`));
    testid("web-steps").append(el("li", { class: "sbs-step" }, el("h4", { text: `${number}. ${title}` }), el("dl", {}, list)));

    testid("web-key").textContent = held.has_session ? `${held.key_prefix}… (cookie ${held.cookie_bytes} bytes)` : held.cookie_bytes ? `none: the cookie (${held.cookie_bytes} bytes) names a session the store does not hold` : "none";
    testid("web-held").textContent = heldText(held);
    testid("web-expires").textContent = held.expires_at || "—";
    testid("web-cart").textContent = held.cart.length ? held.cart.map((l) => `${l.quantity} × ${l.name}`).join(", ") : "empty";
    testid("web-user").textContent = held.user || "nobody";
    testid("web-session-data").textContent = jsonLines(held.data);
    const onServer = (held.server_bytes || 0) + (held.cache_bytes || 0);
    testid("web-totals").textContent = `So far: ${state.web.requests} requests sent ${state.web.sent} bytes of Cookie headers; ${onServer} bytes held on the server now; ${state.web.queries} queries run.`;
  }

  function heldText(held) {
    if (held.unavailable) return "the session store is not answering";
    if (held.store === "signed_cookies") return held.has_session ? `nothing: the whole session is in your cookie (${held.cookie_bytes} bytes)` : "nothing";
    if (!held.has_session) return "nothing";
    return `${held.server_bytes} bytes in ${held.where}${held.cache_bytes ? ` (+ a ${held.cache_bytes}-byte cache copy)` : ""}`;
  }

  function claimsView(claims, previous) {
    const lines = Object.entries(claims).map(([name, value]) => {
      const text = `${JSON.stringify(name)}: ${JSON.stringify(value)}`;
      const changed = previous && JSON.stringify(previous[name]) !== JSON.stringify(value);
      return changed ? el("mark", { title: "changed since the previous token", text }) : text;
    });
    const node = el("pre", { class: "sbs-pre" }, "{\n");
    lines.forEach((line, i) => node.append(" ", line, i < lines.length - 1 ? ",\n" : "\n"));
    node.append("}");
    return node;
  }

  function apiRequestItems(request) {
    const body = request.body === null ? "" : ` · body ${JSON.stringify(request.body)}`;
    const json = request.json || {};
    const detail = json.detail ? ` (${json.code ? `${json.code}: ` : ""}${json.detail})` : "";
    const order = request.json && request.json.order ? ` · order #${request.json.order.id}, total ${request.json.order.total}` : "";
    return [
      ...item("Request", el("code", { text: `${request.method} ${request.path}` }), body,
        ` · Authorization: ${request.authBytes ? `Bearer …, ${request.authBytes} bytes` : "none"}`),
      ...item("Answer", el("strong", { text: String(request.status) }), detail, order, ` · body ${request.bodyBytes} bytes · `,
        request.token ? `new token, ${bytes(request.token)} bytes` : "no token"),
      ...item("Server-Timing", timingText(request.timing)),
    ];
  }

  function renderApi(number, title, result, previousToken, probe) {
    const list = [];
    for (const request of result.requests) list.push(...apiRequestItems(request));
    if (result.note) list.push(...item("What happened", result.note));
    const decoded = state.token ? decodeToken(state.token) : null;
    if (decoded && state.token !== previousToken) {
      const before = previousToken ? decodeToken(previousToken) : null;
      list.push(...item("Token after", pre(decoded.header), claimsView(decoded.claims, before && before.claims),
        `cart: ${cartText(decoded.claims.cart)}`));
    } else if (!decoded) {
      list.push(...item("Token after", "none: the page holds no token"));
    } else {
      list.push(...item("Token after", "unchanged"));
    }
    if (probe) {
      const verdict = probe.status === 200 ? "still accepted" : `refused (${probe.status}${probe.json && probe.json.code ? `, ${probe.json.code}` : ""})`;
      list.push(...item("The previous token", `GET /api/cart/ with it: ${verdict}. ${timingText(probe.timing)}`));
    }
    testid("api-steps").append(el("li", { class: "sbs-step" }, el("h4", { text: `${number}. ${title}` }), el("dl", {}, list)));

    testid("api-token").textContent = state.token || "";
    testid("api-token-size").textContent = state.token ? `${bytes(state.token)} bytes, sent with every request` : "none";
    testid("api-claims").textContent = decoded ? jsonLines(decoded.claims) : "{}";
    testid("api-expires").textContent = decoded ? when(decoded.claims.exp) : "—";
    testid("api-cart").textContent = decoded ? cartText(decoded.claims.cart) : "empty";
    testid("api-user").textContent = decoded && decoded.claims.sub ? `user id ${decoded.claims.sub}` : "nobody";
    testid("api-totals").textContent = `So far: ${state.api.requests} requests sent ${state.api.sent} bytes of Authorization headers; 0 bytes of cart held on the server; ${state.api.queries} queries run.`;
  }

  // --- Running a step ------------------------------------------------------------------

  /* aria-disabled, not disabled: a disabled button would lose the keyboard focus. */
  function setBusy(busy) {
    state.busy = busy;
    root.querySelectorAll("[data-action]").forEach((button) => button.setAttribute("aria-disabled", String(busy)));
  }

  async function run(action) {
    if (state.busy || !steps[action]) return;
    setBusy(true);
    state.step += 1;
    const number = state.step;
    const previousToken = state.token;
    announce(`Step ${number} running…`);
    try {
      const result = await steps[action]();
      const after = await readSession();
      let probe = null;
      const probed = result.api.probe || (previousToken && previousToken !== state.token ? previousToken : null);
      if (probed) probe = await api("GET", "/api/cart/", null, probed);
      if (state.token) keep(state.token, `after step ${number}`);
      renderWeb(number, result.title, result.web, after);
      renderApi(number, result.title, result.api, previousToken, probe);
      announce(`Step ${number} done: ${result.title}.`);
    } catch (error) {
      announce(`Step ${number} could not finish: ${error.message}`);
    } finally {
      setBusy(false);
    }
  }

  root.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => run(button.dataset.action));
  });
  readSession().then((after) => {
    const held = after.held;
    testid("web-key").textContent = held.has_session ? `${held.key_prefix}…` : "none";
    testid("web-held").textContent = heldText(held);
    testid("web-cart").textContent = held.cart.length ? held.cart.map((l) => `${l.quantity} × ${l.name}`).join(", ") : "empty";
    testid("web-user").textContent = held.user || "nobody";
    testid("web-session-data").textContent = jsonLines(held.data);
  }).catch((error) => announce(`Could not read the session: ${error.message}`));
})();
