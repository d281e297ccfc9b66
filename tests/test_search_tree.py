import pytest

from uft_trl.tasks import search_tree


def test_default_prompts_are_hex_digits_and_the_rule_is_a_permutation():
    rows = search_tree.build_dataset(200, depth=6, branching=4, seed=3)
    assert set("".join(prompt.rstrip(":") for prompt in rows["prompt"])) == set("0123")
    rule = search_tree.action_map(4)
    assert sorted(rule.values()) == list("abcd")
    for prompt, path, steps in zip(rows["prompt"], rows["path"], rows["hint"], strict=True):
        assert path == "".join(rule[symbol] for symbol in prompt.rstrip(":")) + search_tree.TERMINATOR
        assert steps[-1] == search_tree.TERMINATOR and "".join(steps) == path
    assert search_tree.accuracy_reward(rows["path"], path=rows["path"]) == [1.0] * 200


def test_a_custom_alphabet_shares_the_rule_and_the_reward():
    letters = search_tree.ACTIONS[:4]
    rows = search_tree.build_dataset(200, depth=5, branching=4, seed=3, rule_seed=7, symbols=letters)
    hex_rows = search_tree.build_dataset(200, depth=5, branching=4, seed=3, rule_seed=7)
    assert set("".join(p.rstrip(":") for p in rows["prompt"])) == set(letters)
    # the same draws and the same permutation, only spelled with other symbols
    assert rows["path"] == hex_rows["path"]
    # a path is rewarded only whole: hint + completion must spell it
    path = rows["path"][0]
    assert search_tree.accuracy_reward([path[2:]], path=[path], hint_text=[path[:2]]) == [1.0]
    assert search_tree.accuracy_reward([path[:-1]], path=[path]) == [0.0]


@pytest.mark.parametrize("branching,symbols", [(5, "abcd"), (1, None), (17, None)])
def test_branching_must_fit_the_alphabet(branching, symbols):
    with pytest.raises(ValueError, match="branching must lie in"):
        search_tree.build_dataset(2, branching=branching, symbols=symbols)


def test_a_whole_hint_leaves_only_the_end_of_the_sequence_to_write():
    rows = search_tree.build_dataset(3, depth=4)
    hints = ["".join(steps) for steps in rows["hint"]]
    assert search_tree.accuracy_reward([""] * 3, path=rows["path"], hint_text=hints) == [1.0] * 3
    assert search_tree.accuracy_reward(["."] * 3, path=rows["path"], hint_text=hints) == [0.0] * 3
