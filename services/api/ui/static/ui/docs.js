// Swagger UI 5 for /docs: the document of this server; no validator badge (it would call an outside service).
"use strict";
window.ui = SwaggerUIBundle({
  url: document.querySelector('meta[name="openapi-url"]').content,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  showExtensions: true,
  persistAuthorization: false,
});
