using TaskServer.Host;

// Settings files ship beside the binary; the working directory is wherever the node was started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddTaskServerNode(builder.Configuration);

var app = builder.Build();
app.MapTaskServerNode();
await app.RunAsync();
