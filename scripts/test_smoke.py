#!/usr/bin/env python3
"""scripts/smoke.py against the running local test stack (make test): every check passes on a
healthy stack, a function answering wrongly fails its check (exit 1), an unreadable stack is
exit 2 with one line."""
import contextlib
import io
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smoke  # noqa: E402


def quiet(f, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = f(*args)
    return code, out.getvalue()


class Smoke(unittest.TestCase):
    def test_the_local_stack_passes_every_check(self):
        code, out = quiet(smoke.main, ["local"])
        self.assertEqual(code, 0, out)
        self.assertEqual(out.count("smoke: ok"), 8, out)
        print(out, end="")

    def test_a_wrong_answer_fails_its_check(self):
        target = smoke.local_target()
        # publish-sync's URL answered by gated-content: 404 instead of 401 and `skipped`.
        target.urls["publish-sync"] = target.urls["gated-content"]
        failed, out = quiet(smoke.run, target)
        self.assertEqual(failed, 2, out)
        self.assertIn("FAIL publish-sync refuses an unsigned delivery (401) (404", out)

    def test_an_unreachable_reconcile_fails_its_check(self):
        target = smoke.local_target()
        target.reconcile = "no-such-function"
        failed, out = quiet(smoke.run, target)
        self.assertEqual(failed, 1, out)
        self.assertIn("FAIL reconcile's dry run", out)

    def test_an_unreadable_stack_is_exit_2(self):
        root = smoke.ROOT
        smoke.ROOT = "/nonexistent"
        try:
            code, out = quiet(smoke.main, ["local"])
        finally:
            smoke.ROOT = root
        self.assertEqual(code, 2, out)
        self.assertIn("cannot check local", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
