import pytest

# The shared checks in helpers.py are plain asserts: have pytest explain their failures as it
# does for asserts in the test modules themselves.
pytest.register_assert_rewrite("tests.sandbox.helpers")
