"""Pinning a partner's key in the operator's YAML, keeping its comments and layout."""

from __future__ import annotations

def pin_partner(config_text: str, name: str, fingerprint: str, key_file: str) -> str | None:
    """``config_text`` with partner ``name``'s ``fingerprint:`` and ``key_file:`` set.

    Edits the text in place (comments, order and layout are kept): existing values are
    replaced, missing keys are added right after the partner's ``name:`` line. Returns None
    when there is no partner ``name``; raises ValueError when the YAML cannot be edited
    safely (not parseable, or the partner is written in flow style).
    """
    import yaml
    try:
        root = yaml.compose(config_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"the configuration is not valid YAML: {exc}") from None
    entry = _partner_node(root, name)
    if entry is None:
        return None
    if entry.flow_style:
        raise ValueError(f"partner {name} is written in flow style ({{...}}); edit it by hand")
    values = {key.value: (key, value) for key, value in entry.value
              if isinstance(key, yaml.ScalarNode)}
    wanted = {"fingerprint": f'"{fingerprint}"', "key_file": key_file}
    edits: list[tuple[int, int, str]] = []
    name_key, name_value = values["name"]
    indent = " " * name_key.start_mark.column
    inserts = ""
    for key, text in wanted.items():
        if key in values:
            node = values[key][1]
            if not isinstance(node, yaml.ScalarNode) or node.start_mark.line != node.end_mark.line:
                raise ValueError(f"partner {name}'s {key} is not a one-line value; edit it by hand")
            edits.append((node.start_mark.index, node.end_mark.index, text))
        else:
            inserts += f"{indent}{key}: {text}\n"
    if inserts:
        line_end = config_text.find("\n", name_value.end_mark.index)
        at = len(config_text) if line_end < 0 else line_end + 1
        prefix = "" if line_end >= 0 else "\n"
        edits.append((at, at, prefix + inserts))
    for start, end, text in sorted(edits, reverse=True):
        config_text = config_text[:start] + text + config_text[end:]
    return config_text


def _partner_node(root, name: str):
    import yaml
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == "partners" and isinstance(value, yaml.SequenceNode):
            for item in value.value:
                if isinstance(item, yaml.MappingNode) and any(
                        getattr(k, "value", None) == "name" and getattr(v, "value", None) == name
                        for k, v in item.value):
                    return item
    return None


def partner_snippet(name: str, fingerprint: str, key_file: str) -> str:
    """The YAML to add for a partner not yet in the configuration."""
    return (f"partners:\n"
            f"  - name: {name}\n"
            f"    addresses:\n"
            f"      - LIST-ADDRESS@PARTNER.EXAMPLE   # the partner's master list: fill this in\n"
            f"    fingerprint: \"{fingerprint}\"\n"
            f"    direction: both                  # send, receive or both\n"
            f"    key_file: {key_file}\n")


def partner_key_file(config_text: str, name: str) -> str | None:
    """The ``key_file:`` written for partner ``name`` (as written, maybe relative), or None."""
    import yaml
    try:
        entry = _partner_node(yaml.compose(config_text, Loader=yaml.SafeLoader), name)
    except yaml.YAMLError:
        return None
    for key, value in entry.value if entry is not None else ():
        if getattr(key, "value", None) == "key_file" and isinstance(value, yaml.ScalarNode) \
                and value.value:
            return str(value.value)
    return None


def set_society_key(config_text: str, fingerprint: str) -> str:
    """``config_text`` with ``society.key`` set to ``fingerprint``, comments and layout kept.

    An existing ``key:`` value is replaced; otherwise ``key:`` is added right after the
    society's ``gnupghome:`` (or ``name:``) line. Raises ValueError when the YAML cannot be
    edited safely (not parseable, no block-style society section).
    """
    import yaml
    try:
        root = yaml.compose(config_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"the configuration is not valid YAML: {exc}") from None
    society = None
    if isinstance(root, yaml.MappingNode):
        society = next((v for k, v in root.value if getattr(k, "value", None) == "society"
                        and isinstance(v, yaml.MappingNode)), None)
    if society is None or society.flow_style:
        raise ValueError("no block-style society: section to write the key into; set "
                         f"society.key: \"{fingerprint}\" by hand")
    values = {k.value: (k, v) for k, v in society.value if isinstance(k, yaml.ScalarNode)}
    text = f'"{fingerprint}"'
    if "key" in values:
        node = values["key"][1]
        if not isinstance(node, yaml.ScalarNode) or node.start_mark.line != node.end_mark.line:
            raise ValueError("society.key is not a one-line value; edit it by hand")
        if node.value == "" and node.start_mark.index == node.end_mark.index:  # "key:" alone
            return config_text[:node.start_mark.index] + " " + text + \
                config_text[node.end_mark.index:]
        return config_text[:node.start_mark.index] + text + config_text[node.end_mark.index:]
    after_key, after_value = values.get("gnupghome") or values.get("name") or \
        next(iter(values.values()))
    line_end = config_text.find("\n", after_value.end_mark.index)
    at = len(config_text) if line_end < 0 else line_end + 1
    insert = f"{' ' * after_key.start_mark.column}key: {text}\n"
    return config_text[:at] + ("" if line_end >= 0 else "\n") + insert + config_text[at:]
