#!/bin/sh
# What a person types for the api-token rotation (docs/runbook.md), as one script: decrypt and
# encrypt with the real ansible-vault, the five playbook runs (four steps and the smoke test) (the stand-in on PATH), the manifest
# date, a CHANGELOG line and the commit. Usage: rotate-by-hand.sh INFRA_DIR PASSWORD_FILE KEY
set -eu
infra="$1" pass="$2" key="$3"
cd "$infra"
vault=infra/group_vars/all/vault.yml
inventory=infra/inventory/staging.yml
new=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')

# 1. Add the new value with a _new suffix.
plain=$(ansible-vault view --vault-password-file "$pass" "$vault")
printf '%s\n%s_new: "%s"\n' "$plain" "$key" "$new" | ansible-vault encrypt --vault-password-file "$pass" --output "$vault" -
# 2-4. Accept both, cycle services, verify.
ansible-playbook -i "$inventory" infra/playbooks/rotate_api_token.yml --vault-password-file "$pass" --tags accept_both
ansible-playbook -i "$inventory" infra/playbooks/rotate_api_token.yml --vault-password-file "$pass" --tags cycle --forks 1
ansible-playbook -i "$inventory" infra/playbooks/rotate_api_token.yml --vault-password-file "$pass" --tags verify
# 5. Promote: drop the old value, rename _new.
plain=$(ansible-vault view --vault-password-file "$pass" "$vault")
printf '%s\n' "$plain" | grep -v "^$key:" | sed "s/^${key}_new:/$key:/" |
  ansible-vault encrypt --vault-password-file "$pass" --output "$vault" -
# 6. Drop the old token from the gateway (the completion checklist: old secret revoked or removed).
ansible-playbook -i "$inventory" infra/playbooks/rotate_api_token.yml --vault-password-file "$pass" --tags drop_old
# Epilogue: smoke test, manifest date, CHANGELOG, commit.
ansible-playbook -i "$inventory" infra/playbooks/smoketest.yml --vault-password-file "$pass"
today=$(date -u +%F)
sed -i "/^  $key:/,/^  [^ ]/ s/last_rotation: .*/last_rotation: $today/" infra/group_vars/all/_secrets_manifest.yml
printf -- '- %s: rotated `%s` by hand\n' "$today" "$key" >> CHANGELOG.md
git -c user.name=bench -c user.email=bench@localhost commit -qam "Rotate $key"
