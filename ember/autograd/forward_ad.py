"""Forward-mode AD is provided through ``ember.autograd.functional.jvp`` (double-vjp trick)."""
