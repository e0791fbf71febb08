// Package loader reads an OpenAPI document (YAML or JSON, 3.0 or 3.1, with
// $refs to other local files) and builds idemgen's model of it: operations,
// parameters, bodies, responses, schemas with unique Go names, and each
// operation's x-idempotent extension parsed, merged with the document's
// x-idempotent-defaults and validated by package extension.
//
// kin-openapi does the parsing and $ref resolution. Positions come from the
// loader's own index of each file (a JSON Pointer to line:column map built in
// one pass), because kin-openapi records none for JSON documents or inside
// extension values. Every position names the file where the node really lives,
// $ref'd files included. All passes are linear in the size of the document.
//
// Load keeps no state between calls and is safe for concurrent use. 3.1
// webhooks (API.Webhooks) and callbacks (Operation.Callbacks) are operations
// of the model, each served at a default path (see webhooks.go); a callback
// of a webhook or callback is a located warning (operation-unsupported).
package loader
