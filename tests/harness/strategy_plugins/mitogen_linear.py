"""Ansible's linear strategy run through Mitogen (the `mitogen` package of requirements.txt).

The Molecule scenarios use it (.config/molecule/config.yml): one Python interpreter per host
for the whole run, reached over the same SSH connection, instead of a new interpreter that
unpacks and compiles each module for every task. Mitogen ships its strategies inside its
package; this file only makes them findable from a fixed path in the repository, whatever the
virtualenv's Python version. Playbooks run without it (plain SSH, pipelining) as before: the
demo test and the bad-input suite do.

Mitogen's CPU affinity is turned off. On a 2-core machine it keeps core 0 for its connection
multiplexer and pins every worker and every process they start to core 1: the containers that
Molecule's create step starts, and the other scenarios run side by side, then all share one
core while the other stays idle (seen: 46% idle, CPU pressure 92%).
"""

import ansible.plugins.strategy.linear
import ansible_mitogen.affinity
import ansible_mitogen.strategy

# The base policy assigns nothing: processes keep the affinity they were started with.
ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, ansible.plugins.strategy.linear.StrategyModule):
    """Linear, with Mitogen's connection and module execution."""
