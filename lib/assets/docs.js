// Swagger UI for the merged schema; credentials entered with "Authorize" persist locally.
(function () {
  var specUrl = document.getElementById("docs-script").dataset.specUrl;
  window.ui = SwaggerUIBundle({
    url: specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    tryItOutEnabled: true,
    layout: "BaseLayout",
  });
})();
