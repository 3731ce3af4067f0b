// Tollgate's passkey ceremonies (WebAuthn). Each <form data-passkey> carries its options as
// JSON (base64url for binary members); this runs navigator.credentials.create() or get()
// and posts the credential, as JSON, in the form's hidden `credential` field. "conditional"
// forms also offer the browser's passkeys as autofill on the username field.
(() => {
  "use strict";
  const encode = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const decode = (text) => {
    const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  const descriptors = (list) => (list || []).map((d) => ({ ...d, id: decode(d.id) }));
  const creation = (o) => ({
    ...o,
    challenge: decode(o.challenge),
    user: { ...o.user, id: decode(o.user.id) },
    excludeCredentials: descriptors(o.excludeCredentials),
  });
  const request = (o) => ({
    ...o,
    challenge: decode(o.challenge),
    allowCredentials: descriptors(o.allowCredentials),
  });
  const asJSON = (credential) => {
    const r = credential.response;
    const response = { clientDataJSON: encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = encode(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = encode(r.authenticatorData);
      response.signature = encode(r.signature);
      if (r.userHandle) response.userHandle = encode(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    });
  };
  const say = (form, text) => {
    const status = form.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  };
  const send = (form, credential) => {
    form.elements.credential.value = asJSON(credential);
    form.submit();
  };
  for (const form of document.querySelectorAll("form[data-passkey]")) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, "This browser cannot use passkeys.");
      continue;
    }
    const options = JSON.parse(form.dataset.passkeyOptions);
    const kind = form.dataset.passkey;
    let autofill = null;
    const failed = (error) => {
      if (error && error.name === "AbortError") return;
      say(form, "The passkey did not work. Try again, or use another way.");
    };
    if (kind === "conditional" && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (!available) return;
        autofill = new AbortController();
        navigator.credentials
          .get({ mediation: "conditional", publicKey: request(options), signal: autofill.signal })
          // Autofill that ends without a passkey is no failure: the person asked for nothing.
          .then((credential) => credential && send(form, credential), () => {});
      });
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      say(form, "");
      if (autofill) autofill.abort();
      const ceremony = kind === "create"
        ? navigator.credentials.create({ publicKey: creation(options) })
        : navigator.credentials.get({ publicKey: request(options) });
      ceremony.then((credential) => send(form, credential), failed);
    });
  }
})();
