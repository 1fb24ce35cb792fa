return await Parley.Bench.BenchApp.RunAsync(args);
