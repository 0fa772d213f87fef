"use strict";
// Swagger UI for the stateless API (the bundle is drf-spectacular-sidecar's static copy).
// Unlike drf-spectacular's default script this one sends no CSRF header: the API reads no
// cookie, so "Try it out" and its generated curl carry only what a real client sends.
// And every answer that carries a cart token becomes the page's authorization, so the next
// call sends the latest cart, as a client keeping its token would.

const swaggerSettings = {{ settings|safe }};
const TOKEN_SCHEME = "cartToken";

const uiReady = () => typeof ui !== "undefined";

const keepLatestToken = (response) => {
  const body = response && response.body;
  const token = body && typeof body === "object" ? body.token : undefined;
  if (uiReady() && typeof token === "string" && token.length > 0) {
    ui.preauthorizeApiKey(TOKEN_SCHEME, token);
  }
  return response;
};

const ui = SwaggerUIBundle({
  url: "{{ schema_url|escapejs }}",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  responseInterceptor: keepLatestToken,
  ...swaggerSettings,
});
