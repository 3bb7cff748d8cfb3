#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# Run FPB's test suites under TAP::Harness, the engine behind prove, so that
# plans, exit codes and parse errors are checked the way prove checks them:
# a suite that dies half way (no plan, or a plan it did not reach) or exits
# non-zero counts as failed even if every line it printed was "ok".
#
# usage: run-tests.pl [SUITE...]   (default: every suite, in name order)
#
# A suite is an executable in tools/testing/suites/ printing TAP with a plan
# (tools/testing/lib/tap.sh, tools/testing/lib/fpbtap.py).  Its stdout and
# stderr go to build/check/SUITE.log.  The last line is
# "check: N passed, N failed, N skipped"; the exit status is 1 if anything
# failed.  `prove -v tools/testing/suites/SUITE` runs one suite the same way.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use TAP::Harness;

my $top = abs_path(dirname(abs_path(__FILE__)) . '/../..');
chdir $top or die "run-tests: cd $top: $!\n";
my $dir = 'tools/testing/suites';
my @suites = @ARGV ? @ARGV : map { basename($_) } sort glob("$dir/*");
make_path('build/check');

my ($pass, $fail, $skip) = (0, 0, 0);
my @failed;
my @run;
for my $s (@suites) {
	if (-f "$dir/$s" && -x _) {
		push @run, $s;
	} else {
		print "run-tests: no suite '$s'\n";
		$fail++;
		push @failed, $s;
	}
}

# Each suite's whole output, TAP or not, also lands in its log.
my %log;
my $harness = TAP::Harness->new({
	verbosity => 1,
	timer => 1,
	merge => 1,
	exec => sub { my (undef, $file) = @_; return [$file]; },
	callbacks => {
		after_test => sub { my ($job) = @_; close $log{$job->[1]}; },
		parser_args => sub {
			my ($args, $job) = @_;
			open my $fh, '>', "build/check/$job->[1].log"
				or die "run-tests: build/check/$job->[1].log: $!\n";
			$fh->autoflush(1);
			$log{$job->[1]} = $fh;
		},
		made_parser => sub {
			my ($parser, $job) = @_;
			my $fh = $log{$job->[1]};
			$parser->callback(ALL => sub { print $fh $_[0]->as_string, "\n"; });
		},
	},
});
my $agg = $harness->runtests(map { ["$dir/$_", $_] } @run);

for my $s (@run) {
	my ($p) = $agg->parsers($s);
	my $skipped = scalar($p->skipped) + ($p->skip_all ? 1 : 0);
	my $failed = scalar $p->failed;
	my @why;
	push @why, 'no plan' unless $p->is_good_plan || $p->skip_all;
	push @why, 'exit status ' . $p->exit if $p->exit;
	push @why, 'parse error: ' . ($p->parse_errors)[0] if $p->parse_errors;
	if (@why && !$failed) {
		print "run-tests: $s failed: ", join('; ', @why), "\n";
		$failed = 1;
	}
	$pass += scalar($p->passed) - scalar($p->skipped);
	$fail += $failed;
	$skip += $skipped;
	push @failed, $s if $failed;
}
print 'failed suites: ', join(' ', @failed), "\n" if @failed;
print "check: $pass passed, $fail failed, $skip skipped\n";
exit($fail ? 1 : 0);
