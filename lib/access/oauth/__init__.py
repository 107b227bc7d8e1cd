"""Sign-in with Google, Apple and Facebook.

The client signs the user in with the provider and sends us what it got: an ID token (Google,
Apple) or a user access token (Facebook). `google`, `apple` and `facebook` verify it with the
provider's public keys or token-debug endpoint and return an `OAuthIdentity`; `services` turns
an identity into one of our users and a session. Nothing here trusts the client's word.
"""
